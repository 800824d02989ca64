"""`rehab key rotate`: a new master key, and every case's data key re-wrapped under it, while
the engine runs (it reads the key file again when a data key will not open)."""

from __future__ import annotations

from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.store.crypto import load_or_create_key, write_keys
from casework.store.db import Store
from casework.store.repository import audit, case_key, read_person, set_person
from casework.store.tables import AuditRow, CaseRow, StaffCodeRow, StoreMeta


def rotate(store: Store, *, now: datetime) -> dict[str, int]:
    """Make a new master key and re-wrap every data key (and what else the master key seals)
    under it; then retire the old key, unless notes written before cases had data keys still
    need it. Returns what was done, counted."""
    path = store.sealer.key_file
    old = load_or_create_key(path, may_create=False)
    new = Fernet.generate_key()
    write_keys(path, [new, *old])  # both open what exists; the new one wraps from now on
    store.sealer.reload()
    done = {"cases": 0, "cases_given_a_data_key": 0}
    with store.session() as session:
        for row in session.scalars(select(CaseRow)).all():
            if row.data_key_wrapped is None:  # sealed under the master key itself, once
                person = read_person(store.sealer, row)
                case_key(row=row, sealer=store.sealer)
                set_person(row=row, sealer=store.sealer, person=person)
                for consent in row.consents:
                    if consent.note_sealed is not None:
                        note = store.sealer.open(consent.note_sealed)
                        consent.note_sealed = store.sealer.seal_text(
                            note, data_key=row.data_key_wrapped
                        )
                done["cases_given_a_data_key"] += 1
            else:
                row.data_key_wrapped = store.sealer.rewrap(row.data_key_wrapped)
            done["cases"] += 1
        for secret in session.scalars(select(StaffCodeRow)).all():
            secret.secret_sealed = store.sealer.rewrap(secret.secret_sealed)
        check = session.get_one(StoreMeta, "key_check")
        check.value = store.sealer.rewrap(check.value)
        keep_old = _old_notes_need(session, MultiFernet([Fernet(k) for k in old]))
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor="operator",
            action="key-rotated",
            now=now,
            detail={**done, "old_key_kept": keep_old},
        )
    # A launch that read the old key before this began may have wrapped a data key with it
    # since: sweep again until every key opens with the new one alone, then retire the old.
    only_new = MultiFernet([Fernet(new)])
    for _ in range(3):
        if _straggler_rewrapped(store, only_new) == 0:
            break
    else:
        keep_old = True
    write_keys(path, [new, *old] if keep_old else [new])
    store.sealer.reload()
    return {**done, "old_key_kept": int(keep_old)}


def _straggler_rewrapped(store: Store, only_new: MultiFernet) -> int:
    """Re-wrap the data keys that do not open with the new key alone; how many there were."""
    count = 0
    with store.session() as session:
        for row in session.scalars(select(CaseRow).where(CaseRow.data_key_wrapped.is_not(None))):
            try:
                only_new.decrypt(row.data_key_wrapped or b"")
            except InvalidToken:
                row.data_key_wrapped = store.sealer.rewrap(row.data_key_wrapped or b"")
                count += 1
    return count


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
