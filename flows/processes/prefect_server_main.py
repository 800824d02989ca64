"""`prefect server start`, in this process, with SQLite write transactions begun IMMEDIATE and
deletes that overwrite (secure delete): what `rehab up` runs as its embedded server.

Prefect begins a write transaction on SQLite DEFERRED (only `with_for_update` gets IMMEDIATE):
it reads first and takes the write lock at its first write. If another write commits in
between, SQLite refuses the upgrade at once, whatever the busy timeout, and the server answers
503. A person's form (a resume: read the run, then write its state and input) is such a
transaction, and while many plans wake it met the wake storm's writes now and then
(bench/forms_under_load.py). Begun IMMEDIATE, a transaction takes the write lock first and
waits its turn under the 60 s busy timeout instead of failing. Reads outside transactions are
untouched (Prefect emits no BEGIN for them), and PostgreSQL is untouched.

    python -m flows.processes.prefect_server_main --host 127.0.0.1 --port 4200
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any


def begin_writes_immediately() -> None:
    """Make every transaction Prefect's server begins on SQLite an IMMEDIATE one."""
    from prefect.server.database.configurations import (  # noqa: PLC0415  # imports prefect
        AioSqliteConfiguration,
    )

    deferred_or_not = AioSqliteConfiguration.begin_transaction
    if getattr(deferred_or_not, "rehab_immediate", False):
        return

    @asynccontextmanager
    async def begin_transaction(
        self: AioSqliteConfiguration, session: Any, with_for_update: bool = False
    ) -> AsyncGenerator[Any, None]:
        async with deferred_or_not(self, session, with_for_update=True) as transaction:
            yield transaction

    begin_transaction.rehab_immediate = True  # type: ignore[attr-defined]
    AioSqliteConfiguration.begin_transaction = begin_transaction  # type: ignore[method-assign]


def delete_securely() -> None:
    """Make every SQLite connection of Prefect's server overwrite what it deletes: a purged
    case's runs, artifacts and logs leave no bytes in free pages (security.md rule 9)."""
    from prefect.server.database.configurations import (  # noqa: PLC0415  # imports prefect
        AioSqliteConfiguration,
    )

    prefects_own = AioSqliteConfiguration.setup_sqlite
    if getattr(prefects_own, "rehab_secure_delete", False):
        return

    def setup_sqlite(self: AioSqliteConfiguration, conn: Any, record: Any) -> None:
        prefects_own(self, conn, record)
        cursor = conn.cursor()
        cursor.execute("PRAGMA secure_delete = ON;")
        cursor.close()

    setup_sqlite.rehab_secure_delete = True  # type: ignore[attr-defined]
    AioSqliteConfiguration.setup_sqlite = setup_sqlite  # type: ignore[method-assign]


def bind_plain_datetimes() -> None:
    """Hand PostgreSQL's driver every timestamp Prefect's server writes as a plain UTC
    `datetime`. On Python before 3.13 Prefect's times are pendulum's, whose subtraction (the
    driver's encoding subtracts its epoch) builds a calendar interval through a deprecation
    wrapper: about a tenth of the server's CPU in a bulk launch (bench/bulk_launch.py). The
    instant written is the same; SQLite's path formats its text from the fields and is left."""
    from prefect.server.utilities.database import Timestamp  # noqa: PLC0415  # imports prefect

    prefects_own = Timestamp.process_bind_param
    if getattr(prefects_own, "rehab_plain", False):
        return

    def process_bind_param(self: Timestamp, value: Any, dialect: Any) -> Any:
        bound = prefects_own(self, value, dialect)
        if bound is None or type(bound) is datetime or dialect.name == "sqlite":
            return bound
        plain = datetime(
            bound.year,
            bound.month,
            bound.day,
            bound.hour,
            bound.minute,
            bound.second,
            bound.microsecond,
            tzinfo=bound.tzinfo,
            fold=bound.fold,
        )
        return plain.astimezone(UTC)

    process_bind_param.rehab_plain = True  # type: ignore[attr-defined]
    Timestamp.process_bind_param = process_bind_param  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    """Run `prefect server start <argv>` here, after the changes above."""
    begin_writes_immediately()
    delete_securely()
    bind_plain_datetimes()
    from flows.processes.prefect_server_artifacts import add_bulk_artifacts  # noqa: PLC0415
    from flows.processes.prefect_server_inputs import add_bulk_inputs  # noqa: PLC0415
    from flows.processes.prefect_server_runs import add_bulk_waiting_runs  # noqa: PLC0415

    add_bulk_inputs()
    add_bulk_artifacts()
    add_bulk_waiting_runs()
    from prefect.cli import app  # noqa: PLC0415

    sys.argv = ["prefect", "server", "start", *argv]  # Prefect's CLI reads its arguments there
    app()


if __name__ == "__main__":
    main(sys.argv[1:])
