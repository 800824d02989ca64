"""`rehab key rotate`: a new master key, and every case's data key re-wrapped under it, while
the engine runs (it reads the key file and the keyring again when a data key will not open);
and a new audit key that chains the audit rows from then on (the old ones stay, to verify)."""

from __future__ import annotations

from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.store.audit_rows import audit
from casework.store.crypto import load_or_create_key, write_keys
from casework.store.db import Store
from casework.store.door_tables import StaffCodeRow
from casework.store.repository import read_person, set_person
from casework.store.tables import AuditRow, CaseRow, StoreMeta

SWEEPS = 3


def rotate(store: Store, *, now: datetime) -> dict[str, int]:
    """Make a new master key and re-wrap every data key (and what else the master key seals)
    under it; then retire the old key, unless notes written before cases had data keys still
    need it. Returns what was done, counted."""
    sealer = store.sealer
    path = sealer.key_file
    old = load_or_create_key(path, may_create=False)
    new = Fernet.generate_key()
    write_keys(path, [new, *old])  # both open what exists; the new one wraps from now on
    sealer.reload()
    rewrapped = sealer.rewrap_case_keys()
    done = {"cases_given_a_data_key": 0}
    with store.session() as session:
        for row in session.scalars(select(CaseRow).where(CaseRow.purged_at.is_(None))).all():
            if not sealer.has_case_key(row.code):  # sealed under the master key itself, once
                person = read_person(sealer, row)
                sealer.ensure_case_key(row.code)
                set_person(row=row, sealer=sealer, person=person)
                for consent in row.consents:
                    if consent.note_sealed is not None:
                        note = sealer.open(consent.note_sealed)
                        consent.note_sealed = sealer.seal_text(note, case=row.code)
                done["cases_given_a_data_key"] += 1
        for secret in session.scalars(select(StaffCodeRow)).all():
            secret.secret_sealed = sealer.rewrap(secret.secret_sealed)
        check = session.get_one(StoreMeta, "key_check")
        check.value = sealer.rewrap(check.value)
        keep_old = _old_notes_need(session, MultiFernet([Fernet(k) for k in old]))
        done["data_keys"] = len(sealer.live_case_keys())
        # Appenders read the audit key file under the chain's lock at each transaction, so
        # from here on every row, this one first, is chained under the new key.
        audit_key = store.audit.rotate()
        audit(
            session,
            sealer=sealer,
            case_code=None,
            actor="operator",
            action="key-rotated",
            now=now,
            detail={**done, "old_key_kept": keep_old, "audit_key": audit_key.id},
        )
    # A launch that read the old key before this began may have wrapped a data key with it
    # since: sweep again until every key opens with the new one alone, then retire the old.
    for _ in range(SWEEPS):
        if sealer.rewrap_case_keys() == 0:
            break
    else:
        keep_old = True
    write_keys(path, [new, *old] if keep_old else [new])
    sealer.reload()
    return {**done, "data_keys_rewrapped": rewrapped, "old_key_kept": int(keep_old)}


def _old_notes_need(session: Session, old: MultiFernet) -> bool:
    """True if an audit note was sealed with the old master key itself (written before cases
    had data keys): the audit log cannot be rewritten, so that key stays to read it."""
    for token in session.scalars(
        select(AuditRow.note_sealed).where(AuditRow.note_sealed.is_not(None))
    ):
        try:
            old.decrypt(token or b"")
        except InvalidToken:
            continue
        return True
    return False
