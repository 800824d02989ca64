"""Disclosure control (report.md): primary suppression of counts 1..t-1, secondary suppression
until every line holding a hidden cell holds two whose true values reach t, one marker, and
the difference rule against earlier releases."""

from __future__ import annotations

from datetime import date, timedelta

from report.tables import Cell, Flag, Key, Prior, Shown, Table

MINIMUM_THRESHOLD = 11  # CTDC's k-anonymity and the CMS cell policy: never lower


def small(value: int | float, threshold: int) -> bool:
    """A count that would single out fewer people than the threshold (0 is not)."""
    return 0 < value < threshold


def _carry(key: Key, value: int, last: Prior | None, threshold: int) -> bool:
    if last is None or key not in last.cells:
        return False
    shown, _flag, _as_of = last.cells[key]
    return shown is not None and small(abs(value - shown), threshold)


def mask(
    table: Table, threshold: int, *, priors: list[Prior], last: Prior | None
) -> dict[Key, Flag]:
    """Which cells are hidden (`c`) or carry an earlier value (`carried`)."""
    masked: dict[Key, Flag] = {k: s[1] for k, s in table.locked.items() if s[1] != "ok"}
    counts = {k: v for k, v in table.true.items() if k not in table.derived}
    free = [k for k in counts if k not in table.locked]
    for k in free:
        if small(counts[k], threshold):
            masked[k] = "c"  # rule 2
    if table.basis == "period":
        for prior in priors:  # rule 5, period cells: hidden
            for k in free:
                shown = prior.cells.get(k, (None, "c", None))[0]
                if (
                    k not in masked
                    and shown is not None
                    and small(abs(counts[k] - shown), threshold)
                ):
                    masked[k] = "c"
    else:
        for k in free:  # rule 5, cumulative cells: carried
            if k not in masked and _carry(k, counts[k], last, threshold):
                masked[k] = "carried"
    changed = True
    while changed:  # rule 3, until nothing changes
        changed = False
        for line in table.lines:
            cells = [k for k in line if k in counts]
            hidden = [k for k in cells if k in masked]
            if not hidden or (len(hidden) >= 2 and sum(counts[k] for k in hidden) >= threshold):
                continue
            candidates = sorted(
                (k for k in cells if k not in masked and k not in table.locked and counts[k] > 0),
                key=lambda k: (counts[k], k),
            )
            if not candidates:
                continue
            k = candidates[0]
            carried = table.basis == "cumulative" and _carry(k, counts[k], last, threshold)
            masked[k] = "carried" if carried else "c"
            changed = True
    return masked


def publish(
    table: Table,
    threshold: int,
    *,
    priors: list[Prior] = (),  # type: ignore[assignment]  # read only, never changed
    last: Prior | None = None,
) -> list[Cell]:
    """The table's cells as they may be published."""
    masked = mask(table, threshold, priors=list(priors), last=last)
    cells: list[Cell] = []
    for r in table.rows:
        for c in table.cols:
            k = (r, c)
            if k not in table.true:
                continue
            flag: Flag = masked.get(k, "ok")
            count: int | float | None = table.true[k]
            as_of = None
            if k in table.locked:
                count, flag, as_of = table.locked[k]
            elif k in table.derived:
                value, needs, n = table.derived[k]
                shown = n >= threshold and all(masked.get(d, "ok") == "ok" for d in needs)
                flag, count = ("ok", value) if shown else ("c", None)
            elif flag == "c":
                count = None
            elif flag == "carried":
                assert last is not None  # only a last release carries
                count, prior_flag, prior_as_of = last.cells[k]
                as_of = prior_as_of if prior_flag == "carried" else _month(last.period_end)
            cells.append(
                Cell(table.name, table.basis, table.dim1, r, table.dim2, c, count, flag, as_of)
            )
    return cells


def _month(period_end: str) -> str:
    """YYYY-MM of the day before an exclusive end date."""
    return f"{date.fromisoformat(period_end) - timedelta(days=1):%Y-%m}"


def locks(cells: list[Cell], pairs: dict[Key, Key]) -> dict[Key, Shown]:
    """What another table must show for its copies of these cells: {its key: our key}."""
    by_key = {c.key: c for c in cells}
    return {
        theirs: (by_key[ours].count, by_key[ours].flag, by_key[ours].as_of)
        for theirs, ours in pairs.items()
        if ours in by_key
    }
