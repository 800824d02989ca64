"""What a purge erases from the files under REHAB_HOME besides the case store (security.md
rule 9): the embedded Prefect server's database (the rows the API does not delete: events,
logs kept apart from their deleted runs; and the WAL that still holds old pages), the lines of
the log files that name the case, and the mail catcher's messages of the case.

Prefect's server writes its SQLite file with secure delete on
(flows/processes/prefect_server_main.py), so the runs and artifacts the API deletes leave no bytes
in free pages; the rows deleted here
are deleted the same way, then the WAL is checkpointed and emptied."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from flows.home.logfiles import drop_lines, names_any, naming, shred

log = logging.getLogger("rehab.erasure")
PREFECT_BUSY_MS = 60_000  # the server holds its write lock for short transactions only
TEXT_TYPES = re.compile(r"CHAR|TEXT|JSON|CLOB", re.IGNORECASE)
# Prefect's structure, which names no case, and its flow runs, which the API deletes by their
# exact names (a longer code may begin with this one): never looked at here.
NEVER = {
    "alembic_version",
    "agent",
    "automation",
    "block_document",
    "block_document_reference",
    "block_schema",
    "block_schema_reference",
    "block_type",
    "concurrency_limit",
    "concurrency_limit_v2",
    "configuration",
    "csrf_token",
    "deployment",
    "deployment_schedule",
    "flow",
    "flow_run",
    "variable",
    "work_pool",
    "work_queue",
    "worker",
}


def prefect_database(home: Path) -> Path:
    """The embedded server's SQLite file (Prefect's default under PREFECT_HOME)."""
    return home / "prefect" / "prefect.db"


def _stamp(moment: datetime) -> str:
    # How Prefect keeps a time in SQLite: naive UTC text, which sorts as time does.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@contextmanager
def _prefect(path: Path, codes: list[str]) -> Iterator[sqlite3.Connection]:
    named = naming(codes)

    def names_case(value: object) -> int:  # SQL: names_case(column)
        data = value if isinstance(value, bytes) else str(value).encode()
        return int(named.search(data) is not None)

    with closing(sqlite3.connect(path, timeout=PREFECT_BUSY_MS / 1000, isolation_level=None)) as db:
        db.create_function("names_case", 1, names_case, deterministic=True)
        db.execute(f"PRAGMA busy_timeout={PREFECT_BUSY_MS}")
        db.execute("PRAGMA secure_delete=ON")
        db.execute("PRAGMA foreign_keys=ON")  # as Prefect's own connections: cascades act
        yield db


def _text_columns(db: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [
        name
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if name not in NEVER and not name.startswith("sqlite_")
    ]
    found = {}
    for table in tables:
        columns = [
            row[1]
            for row in db.execute(f'PRAGMA table_info("{table}")')
            if TEXT_TYPES.search(row[2])
        ]
        if columns:
            found[table] = columns
    return found


def scrub_prefect(
    home: Path, codes: list[str], *, since: datetime | None = None, vacuum: bool = False
) -> int:
    """Delete every row of Prefect's database that names one of `codes` (in any letter case),
    and the logs of deleted runs; then empty the WAL. `since`: look only at events from then
    on and at orphan logs (the clock's follow-up after a purge). Returns rows deleted."""
    path = prefect_database(home)
    if not codes or not path.exists():
        return 0
    deleted = 0
    with _prefect(path, codes) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            for code in codes:
                needle = code.lower()
                if since is None:
                    for table, columns in _text_columns(db).items():
                        where = " OR ".join(
                            f'(instr(lower("{c}"), ?) > 0 AND names_case("{c}"))' for c in columns
                        )
                        cursor = db.execute(
                            f'DELETE FROM "{table}" WHERE {where}', [needle] * len(columns)
                        )
                        deleted += cursor.rowcount
                else:  # events of the run (resource) and of its task runs (related)
                    deleted += db.execute(
                        "DELETE FROM events WHERE occurred >= ? AND (names_case(resource)"
                        " OR names_case(related)) AND instr(lower(resource || related), ?) > 0",
                        (_stamp(since), needle),
                    ).rowcount
                    deleted += db.execute(
                        "DELETE FROM event_resources WHERE occurred >= ? AND "
                        "instr(lower(resource), ?) > 0 AND names_case(resource)",
                        (_stamp(since), needle),
                    ).rowcount
            # Events about the deleted runs name them by id: their resources go with them.
            # Logs are kept apart from their runs: those of runs gone are the deleted ones'.
            # (The follow-up, every tick, looks only at the last hour's: both are indexed.)
            after = "" if since is None else f"AND {{}} >= '{_stamp(since)}'"
            deleted += db.execute(
                "DELETE FROM event_resources WHERE event_id NOT IN (SELECT id FROM events) "
                + after.format("occurred")
            ).rowcount
            deleted += db.execute(
                "DELETE FROM log WHERE flow_run_id IS NOT NULL AND "
                "flow_run_id NOT IN (SELECT id FROM flow_run) " + after.format("timestamp")
            ).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if deleted or since is None:
            _empty_wal(db)
        if vacuum:
            # With no server writing (the end of `rehab up`), the file is rebuilt: no freed
            # page or stale index cell of a deleted row is left in it.
            db.execute("VACUUM")
            _empty_wal(db)
    return deleted


def _empty_wal(db: sqlite3.Connection) -> None:
    """Copy the WAL into the file and cut it to nothing: it holds pages as they were before."""
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:  # a reader kept it; the clock's follow-up tries again
        log.info("Prefect's WAL could not be emptied now; the next look tries again")


def mail_files(home: Path) -> Path:
    """Where the mail catcher keeps what it receives (flows/processes/mail_catcher.py)."""
    return home / "mail"


def scrub_mail(home: Path, codes: list[str]) -> int:
    """Remove the mail catcher's messages naming one of `codes` (overwritten first) and
    their lines in `received.log` (those naming the code or the message's file); returns
    messages removed."""
    inbox = mail_files(home)
    if not codes or not inbox.is_dir():
        return 0
    removed = []
    for message in sorted(inbox.glob("*.eml")):
        try:
            text = message.read_bytes()
        except FileNotFoundError:  # removed meanwhile (the clock's sweep after a purge)
            continue
        if names_any(text, codes):
            shred(message)
            removed.append(message.name)
    drop_lines(inbox / "received.log", codes + removed)  # a line names its message's file
    return len(removed)


# How far each log file was last found clean of which codes (its inode, its size then): the
# clock's follow-up looks every tick for an hour, and reads only what was appended since.
_clean: dict[tuple[Path, tuple[str, ...]], tuple[int, int]] = {}


def _names_since_last_look(path: Path, codes: list[str]) -> bool:
    key = (path, tuple(codes))
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    inode, upto = _clean.get(key, (stat.st_ino, 0))
    start = upto if inode == stat.st_ino and upto <= stat.st_size else 0
    overlap = max(len(code) for code in codes) + 2  # a code cut by the last look's end
    with path.open("rb") as log:
        log.seek(max(start - overlap, 0))
        named = names_any(log.read(), codes)
    if not named:
        _clean[key] = (stat.st_ino, stat.st_size)
    return named


def scrub_logs(home: Path, codes: list[str]) -> int:
    """Take the lines naming one of `codes` out of every log file of `rehab up`."""
    dropped = 0
    for path in sorted((home / "logs").glob("*.log")):
        if _names_since_last_look(path, codes):
            dropped += drop_lines(path, codes)
            _clean.pop((path, tuple(codes)), None)
    return dropped


def erase_files(
    home: Path, codes: list[str], *, since: datetime | None = None, vacuum: bool = False
) -> int:
    """Everything above, for `codes` (`vacuum`: Prefect's database rebuilt too, only when its
    server has stopped); returns how many rows, messages and lines went."""
    if not codes:
        return 0
    return (
        scrub_prefect(home, codes, since=since, vacuum=vacuum)
        + scrub_mail(home, codes)
        + scrub_logs(home, codes)
    )
