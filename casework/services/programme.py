"""The programme's own policy (security.md rule 5): whether plans wait for a supervisor's
approval is set in the programme's configuration (the staff directory's `approval`), not by
whoever runs a command. REHAB_REQUIRE_APPROVAL is only the engine's default for a programme
that says nothing; the policy in force is recorded in the store, and every change is audited."""

from __future__ import annotations

from datetime import datetime

from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.tables import StoreMeta
from plans.directories import Directories

KEY = "approval"


def approval_required(
    store: Store, directories: Directories, *, engine_default: bool | None, now: datetime
) -> bool:
    """Whether plans wait for approval: the directory's setting; else the engine's default
    (only the engine passes one); else what the engine last recorded; else required. A policy
    different from the one recorded is recorded, with an audit row saying from what, to what
    and where it came from."""
    configured: str | None = directories.staff.approval
    with store.session() as session:
        row = session.get(StoreMeta, KEY)
        recorded = row.value.decode() if row is not None else None
        if configured is not None:
            policy, source = configured, directories.staff_file
        elif engine_default is not None:
            policy = "required" if engine_default else "not-required"
            source = "REHAB_REQUIRE_APPROVAL (the programme says nothing)"
        else:  # a command: the policy the engine recorded, else required (nothing recorded)
            return recorded != "not-required"
        if policy != recorded:
            if row is None:
                session.add(StoreMeta(key=KEY, value=policy.encode()))
            else:
                row.value = policy.encode()
            audit(
                session,
                sealer=store.sealer,
                case_code=None,
                actor="operator",
                action="approval-policy",
                now=now,
                detail={"from": recorded, "to": policy, "source": source},
            )
    return policy == "required"


def predicted_approval(directories: Directories) -> bool:
    """For a preview that touches no database (`plan simulate`): the directory's setting,
    else required."""
    return directories.staff.approval != "not-required"
