"""A table before and after disclosure control: true counts in, published cells out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Key = tuple[str, str]  # (code1, code2)
Basis = Literal["period", "cumulative"]
Flag = Literal["ok", "c", "carried"]
Shown = tuple[int | float | None, Flag, str | None]  # count, flag, as_of


@dataclass
class Table:
    """One table of true counts, and what a reader knows about how its cells relate."""

    name: str  # A1, B1, ...
    basis: Basis
    dim1: str
    dim2: str
    rows: list[str]
    cols: list[str]
    true: dict[Key, int] = field(default_factory=dict)
    # Lines: every row and column the suppression rule looks at (rule 3).
    lines: list[list[Key]] = field(default_factory=list)
    # Sums a reader may rely on: these parts add up exactly to that total.
    sums: list[tuple[list[Key], Key]] = field(default_factory=list)
    # Cells another table already published: their flag is decided there.
    locked: dict[Key, Shown] = field(default_factory=dict)
    # Where each locked cell's count was published first: (table, key).
    copied_from: dict[Key, tuple[str, Key]] = field(default_factory=dict)
    # Statistics (medians, shares), not counts: value, the count cells they need published,
    # and their n.
    derived: dict[Key, tuple[float, list[Key], int]] = field(default_factory=dict)

    def grid_lines(self, *, rows: bool = True, cols: bool = True) -> None:
        """Every row and every column of the grid becomes a line (cells it has only)."""
        if rows:
            for r in self.rows:
                self.add_line([(r, c) for c in self.cols])
        if cols:
            for c in self.cols:
                self.add_line([(r, c) for r in self.rows])

    def add_line(self, keys: list[Key]) -> None:
        """A line of the cells that exist (at least two)."""
        line = [k for k in keys if k in self.true]
        if len(line) >= 2:
            self.lines.append(line)

    def add_sum(self, parts: list[Key], total: Key) -> None:
        """Parts that add up to total, known to every reader; also a line."""
        parts = [k for k in parts if k in self.true]
        self.sums.append((parts, total))
        self.add_line([*parts, total])


@dataclass(frozen=True)
class Cell:
    """One published cell: its count (None when hidden), its flag, and for a carried cell
    the month of the release whose value it carries."""

    table: str
    basis: Basis
    dim1: str
    code1: str
    dim2: str
    code2: str
    count: int | float | None
    flag: Flag
    as_of: str | None = None

    @property
    def key(self) -> Key:
        """(code1, code2)."""
        return (self.code1, self.code2)


@dataclass(frozen=True)
class Prior:
    """An earlier release of one table: its period and its published cells."""

    release_id: str
    period_start: str  # ISO dates
    period_end: str
    cells: dict[Key, Shown]
