"""What the case store refuses or cannot do: a case it does not hold, a race lost, the
store down, and the keys that seal it missing, exposed or wrong."""

from __future__ import annotations

from pathlib import Path

from plans.errors import RehabError, listed, shown


class CaseNotFound(RehabError):
    """No case has this code."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no case {code} in the case store; `rehab plan list` shows the cases")


class AmbiguousCode(RehabError):
    """A code typed in a case that matches several cases stored, from before codes were
    matched whatever the case of their letters, in none of them exactly."""

    def __init__(self, code: str, stored: list[str]) -> None:
        self.code, self.stored = code, stored
        super().__init__(
            f"{shown(code)} matches cases {listed(stored)}, which differ only in the case of "
            "their letters: give the code exactly as one of them is written"
        )


class CasePurged(RehabError):
    """The case was erased: nothing of it opens, and its code is not used again."""

    def __init__(self, code: str, when: str) -> None:
        self.code, self.when = code, when
        super().__init__(
            f"case {code} was purged on {when}: its code is not used again; give "
            "a new case a new code"
        )


class CaseKeyDestroyed(RehabError):
    """The case's data key was destroyed by a purge: no copy of its sealed data opens."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"case {code} was purged: its data key is destroyed, so its sealed data opens "
            "nowhere, in this copy of the store or any other"
        )


class NoPlanYet(RehabError):
    """A case brought in by `rehab case import` has no plan in rehab until one is launched."""

    def __init__(self, code: str, state: str) -> None:
        self.code, self.state = code, state
        super().__init__(
            f"case {code} ({state}) was imported and has no plan in rehab yet: launch one "
            f"for it first (`rehab plan launch FILE` with `case: {code}`)"
        )


class Conflict(RehabError):
    """Someone else changed the case at the same moment; nothing of this change was saved."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"case {code} was changed by someone else at the same moment; nothing "
            "of this change was saved: check `rehab plan status` and run it again"
        )


class StoreUnavailable(RehabError):
    """The case store's database cannot be reached or opened."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(f"cannot open the case store at {where}: {reason}")


class SecretKeyError(RehabError):
    """The secret key is missing, unreadable or not the one the store was sealed with."""

    def __init__(self, key_file: Path, message: str) -> None:
        self.key_file = key_file
        super().__init__(message)


class SecretKeyMissing(SecretKeyError):
    """The store holds sealed data but its key file is gone."""

    def __init__(self, key_file: Path) -> None:
        super().__init__(
            key_file,
            f"the secret key file {key_file} is missing, but this case "
            "store holds data sealed with a key: restore the key file "
            "(REHAB_SECRET_KEY_FILE) from your backup",
        )


class SecretKeyUnreadable(SecretKeyError):
    """The key file cannot be read."""

    def __init__(self, key_file: Path, why: str) -> None:
        self.why = why
        super().__init__(key_file, f"cannot read the secret key file {key_file}: {why}")


class SecretKeyExposed(SecretKeyError):
    """The key file may be read by others than its owner."""

    def __init__(self, key_file: Path, mode: int) -> None:
        self.mode = oct(mode)
        super().__init__(
            key_file,
            f"{key_file} may be read by others (mode {mode:o}): make it "
            f"its owner's alone (`chmod 600 {key_file}`), then run this again",
        )


class HomeExposed(RehabError):
    """REHAB_HOME may be read by others than its owner."""

    def __init__(self, home: Path, mode: int) -> None:
        self.home, self.mode = home, oct(mode)
        super().__init__(
            f"{home} may be read by others (mode {mode:o}): make it its owner's "
            f"alone (`chmod 700 {home}`), then run this again"
        )


class NotASecretKey(SecretKeyError):
    """The key file does not hold a key."""

    def __init__(self, key_file: Path) -> None:
        super().__init__(
            key_file,
            f"{key_file} is not a secret key (expected 32 url-safe "
            "base64-encoded bytes, as `rehab` creates on first use)",
        )


class WrongSecretKey(SecretKeyError):
    """The key is not the one this store (or this record) was sealed with."""

    def __init__(self, key_file: Path, *, record: bool = False) -> None:
        self.record = record
        super().__init__(
            key_file,
            (
                f"the secret key in {key_file} cannot open this record: is REHAB_SECRET_KEY_FILE "
                "the store's key?"
            )
            if record
            else (
                f"the secret key in {key_file} is not the key this case store was sealed with: "
                "point REHAB_SECRET_KEY_FILE at the right key"
            ),
        )


class AuditKeyMissing(SecretKeyError):
    """The audit log is chained under a key on the key mount, and the audit key file is gone."""

    def __init__(self, key_file: Path) -> None:
        super().__init__(
            key_file,
            f"the audit key file {key_file} is missing, but this case store's audit log is "
            "chained under it: restore it from the key mount's backup",
        )


class AuditHeadMissing(SecretKeyError):
    """The audit log is chained under a key, and the chain's head on the key mount is gone."""

    def __init__(self, key_file: Path) -> None:
        super().__init__(
            key_file,
            f"the audit chain's head {key_file} is missing, but this case store's audit log is "
            "chained under a key: restore it from the key mount's backup",
        )
