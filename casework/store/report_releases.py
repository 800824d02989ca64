"""What the programme report released before, read back so that figures already given are
never contradicted (report.md's disclosure control), and each release and each reading of the
store for a report recorded."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.tables import ReportReleaseRow
from report.periods import Period
from report.release import Release
from report.tables import Basis, Prior


def priors(store: Store, period: Period) -> Any:
    """For a table and basis: the earlier releases it is compared with (period tables: those
    whose period contains it or lies inside it), and the last one (cumulative tables)."""
    with store.session() as session:
        rows = session.scalars(select(ReportReleaseRow).order_by(ReportReleaseRow.id)).all()
        kept = [
            (
                r.table_name,
                r.basis,
                r.period_start,
                r.period_end,
                Prior(
                    r.release_id,
                    r.period_start,
                    r.period_end,
                    {(c[0], c[1]): (c[2], c[3], c[4]) for c in r.cells},
                ),
            )
            for r in rows
        ]
    start, end = period.start.isoformat(), period.end.isoformat()

    def lookup(name: str, basis: Basis) -> tuple[list[Prior], Prior | None]:
        mine = [(s, e, p) for n, b, s, e, p in kept if n == name and b == basis]
        if basis == "cumulative":
            return [], (mine[-1][2] if mine else None)
        related = [p for s, e, p in mine if (s <= start and end <= e) or (start <= s and e <= end)]
        return related, None

    return lookup


def record_release(store: Store, release: Release, *, now: datetime) -> None:
    """Keep what the release published (aggregates only), one row per table and basis."""
    by_table: dict[tuple[str, str], list[list[Any]]] = defaultdict(list)
    for c in release.cells:
        by_table[(c.table, c.basis)].append([c.code1, c.code2, c.count, c.flag, c.as_of])
    with store.session() as session:
        for (name, basis), cells in by_table.items():
            session.add(
                ReportReleaseRow(
                    release_id=release.release_id,
                    table_name=name,
                    basis=basis,
                    kind=release.period.kind,
                    period_start=release.period.start.isoformat(),
                    period_end=release.period.end.isoformat(),
                    created_at=now,
                    cells=cells,
                )
            )


def audit_read(store: Store, *, period: Period, cases: int, release_id: str, now: datetime) -> None:
    """Every read of personal data is audited (security.md rule 7): the report's read of every
    person, as one row naming no case: the period, how many cases, the release."""
    with store.session() as session:
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor="operator",
            action="report-read",
            now=now,
            detail={
                "reason": "programme report",
                "period": period.label,
                "cases": cases,
                "release": release_id,
            },
        )
