"""The report as md (a quick look in a terminal), csv (one row per cell, UTF-8 with a BOM)
and json (the cells and the method block)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from itertools import groupby

from report.release import Release
from report.tables import Cell
from report.vocabulary import Lang, label, title
from report.words import code_label, method_lines, period_name, word

COLUMNS = (
    "release_id", "table", "basis", "period_start", "period_end",
    "dim1", "code1", "dim2", "code2", "count", "flag", "as_of",
)  # fmt: skip


def last_day(release: Release) -> str:
    """The period's last day (inclusive)."""
    return (release.period.end - timedelta(days=1)).isoformat()


def span(release: Release, lang: Lang) -> str:
    """The period as a reader sees it: first to last day, or since the start to the last."""
    p = release.period
    first = label("cumulative", lang) if p.kind == "since-start" else p.start.isoformat()
    return f"{first} – {last_day(release)} ({p.tz})"


def first_day(release: Release, cell: Cell) -> str:
    """The period's first day; empty for a cumulative cell (since the programme began)."""
    return release.period.start.isoformat() if cell.basis == "period" else ""


def shown(cell: Cell, lang: Lang = "en") -> str:
    """What a reader sees in the cell: the count, `c`, or a carried count with its month."""
    if cell.flag == "c" or cell.count is None:
        return "c"
    text = f"{cell.count:g}" if isinstance(cell.count, float) else str(cell.count)
    return f"{text} ({label('carried', lang)} {cell.as_of})" if cell.flag == "carried" else text


def grouped(release: Release) -> list[tuple[tuple[str, str], list[Cell]]]:
    """Cells by (table, basis), in release order."""
    return [(k, list(g)) for k, g in groupby(release.cells, key=lambda c: (c.table, c.basis))]


def to_csv(release: Release) -> bytes:
    """One row per cell; `count` empty when hidden."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for c in release.cells:
        writer.writerow(
            [
                release.release_id, c.table, c.basis, first_day(release, c), last_day(release),
                c.dim1, c.code1, c.dim2, c.code2,
                "" if c.count is None else c.count, c.flag, c.as_of or "",
            ]
        )  # fmt: skip
    return out.getvalue().encode("utf-8-sig")


def to_json(release: Release, lang: Lang = "en") -> bytes:
    """The same cells, and the method block."""
    cells = [
        {
            "table": c.table,
            "basis": c.basis,
            "period_start": first_day(release, c),
            "period_end": last_day(release),
            "dim1": c.dim1,
            "code1": c.code1,
            "label1": label(c.code1, lang),
            "dim2": c.dim2,
            "code2": c.code2,
            "label2": label(c.code2, lang),
            "count": c.count,
            "flag": c.flag,
            "as_of": c.as_of,
        }
        for c in release.cells
    ]
    data = {"release_id": release.release_id, "method": release.method, "cells": cells}
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def to_md(release: Release, lang: Lang = "en") -> bytes:
    """Markdown tables, one per table and basis, and the method."""
    p = release.period
    lines = [f"# {title('report', lang)}: {period_name(p.label, lang)}", ""]
    lines.append(f"{span(release, lang)} · {word('release', lang)} {release.release_id}")
    lines.append("")
    for (name, basis), cells in grouped(release):
        lines += [f"## {title(name, lang)} — {label(basis, lang)}", ""]
        cols = list(dict.fromkeys(c.code2 for c in cells))
        dim1, dim2 = cells[0].dim1, cells[0].dim2
        lines.append("| | " + " | ".join(code_label(c, dim2, lang) for c in cols) + " |")
        lines.append("|---|" + "---|" * len(cols))
        for code1, row in groupby(cells, key=lambda c: c.code1):
            by_col = {c.code2: shown(c, lang) for c in row}
            lines.append(
                f"| {code_label(code1, dim1, lang)} | "
                + " | ".join(by_col.get(c, "") for c in cols)
                + " |"
            )
        lines.append("")
    lines += [f"## {title('F', lang)}", "", f"- {label('hidden', lang)}"]
    lines += [f"- {line}" for line in method_lines(release.method, lang, method_labels(lang))]
    return ("\n".join(lines) + "\n").encode()


def method_labels(lang: Lang) -> dict[str, str]:
    """The labels the method block names beside their codes."""
    return {code: label(code, lang) for code in ("NotBrokenDown", "OtherCountries")}
