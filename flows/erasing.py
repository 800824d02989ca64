"""A case's erasure on the Prefect side and in the files under REHAB_HOME: a director's order,
the retention period's end, and the clock's follow-up after both (see docs/security.md)."""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import datetime, timedelta
from functools import partial

from casework.services import purge
from casework.services.unit_of_work import retry_on_conflict
from casework.store.errors import CasePurged
from flows.app import App
from flows.home import erasure

log = logging.getLogger("rehab.erasing")


def purge_case(app: App, code: str, *, reason: str, by: str) -> int:
    """Erase a case in the store (a director's order), then its runs and artifacts in
    Prefect, and whatever names it in the files under REHAB_HOME (Prefect's database, the
    logs, the mail catcher's messages); returns how many runs were deleted. Run again, it
    finishes what was left."""

    with suppress(CasePurged):  # erased in the store already: Prefect's side may be left
        retry_on_conflict(
            lambda: purge.purge(
                app.store, app.directories, code=code, reason=reason, by=by, now=app.now()
            )
        )
    runs = app.prefect.delete_case(code)
    erasure.erase_files(app.settings.home_dir, [code])
    return runs


# A plan's run may be ending (its last artifacts on their way) at the moment its case is
# purged; for this long afterwards the clock deletes whatever of the case Prefect still holds.
PURGE_FOLLOW_UP = timedelta(hours=1)
# During the follow-up the store is compacted again every this many clock ticks: a transaction
# older than the purge's (anywhere on a PostgreSQL server) keeps the deleted rows until it ends.
COMPACT_AGAIN_TICKS = 10
_compacted: dict[int, datetime] = {}


def sweep_after_purges(app: App) -> int:
    """Delete what Prefect and the files under REHAB_HOME hold of recently purged cases
    (usually nothing), and compact the store again now and then; how many runs."""

    since = app.now() - PURGE_FOLLOW_UP
    codes = purge.purged_since(app.store, since=since)
    if not codes:
        return 0
    runs = sum(app.prefect.delete_case(code) for code in codes)
    erasure.erase_files(app.settings.home_dir, codes, since=since)
    last = _compacted.get(id(app.store))
    if last is None or app.now() - last >= app.settings.clock_interval * COMPACT_AGAIN_TICKS:
        app.store.compact(purge.TOUCHED)
        _compacted[id(app.store)] = app.now()
    return runs


def erase_after_stop(app: App) -> int:
    """Once the embedded server has stopped (the end of `rehab up`), erase from the files what
    it wrote of recently purged cases as it stopped (events it still held); how many rows
    and lines went."""

    codes = purge.purged_since(app.store, since=app.now() - PURGE_FOLLOW_UP)
    return erasure.erase_files(app.settings.home_dir, codes, vacuum=True)


def purge_past_retention(app: App) -> list[str]:
    """Erase every ended case past the programme's retention period (the clock's pass)."""

    reason = f"retention period ({app.directories.staff.retention}) over"

    def erase(code: str) -> None:
        purge.purge(
            app.store, None, code=code, reason=reason, by=purge.RETENTION_ACTOR, now=app.now()
        )

    done = []
    for code in purge.past_retention(app.store, app.directories, now=app.now()):
        try:
            retry_on_conflict(partial(erase, code))
            app.prefect.delete_case(code)
        except Exception:  # one case's trouble keeps no other from its erasure; next pass
            log.exception("could not erase case %s past retention", code)
            continue
        done.append(code)
    erasure.erase_files(app.settings.home_dir, done)
    return done
