"""The report as one self-contained html file: inline CSS and SVG bar charts drawn from
published cells only (a hidden cell draws no bar), and print styles so a browser prints it
to PDF."""

from __future__ import annotations

from html import escape
from itertools import groupby

from report.release import Release
from report.render_text import grouped, method_labels, shown, span
from report.tables import Cell
from report.vocabulary import Lang, label, title
from report.words import code_label, method_lines, period_name, word

CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #bbb}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th:first-child,td:first-child{text-align:left}
td.c{color:#888;font-style:italic}.meta{color:#555}
svg text{font-size:11px;font-family:inherit}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,svg{break-inside:avoid}}
"""
BAR_COLOURS = ("#3b6ea5", "#d07a2b", "#5a9e4b", "#b3474d", "#7b5ea7", "#8c6d31", "#4aa3a3")


def _table(cells: list[Cell], lang: Lang) -> str:
    cols = list(dict.fromkeys(c.code2 for c in cells))
    dim1, dim2 = cells[0].dim1, cells[0].dim2
    head = "".join(f"<th>{escape(code_label(c, dim2, lang))}</th>" for c in cols)
    rows = []
    for code1, row in groupby(cells, key=lambda c: c.code1):
        by_col = {c.code2: c for c in row}
        tds = "".join(
            f'<td class="{by_col[c].flag}">{escape(shown(by_col[c], lang))}</td>'
            if c in by_col
            else "<td></td>"
            for c in cols
        )
        rows.append(f"<tr><td>{escape(code_label(code1, dim1, lang))}</td>{tds}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def bar_chart(cells: list[Cell], lang: Lang, *, skip: tuple[str, ...] = ("Total",)) -> str:
    """Horizontal bars, one per published non-zero cell, grouped by row; hidden: no bar."""
    bars = [
        c
        for c in cells
        if c.code1 not in skip and c.code2 not in skip and c.code2 != "ShareAttendedPct"
    ]
    drawn = [c for c in bars if c.flag != "c" and isinstance(c.count, int) and c.count > 0]
    if not drawn:
        return ""
    top = max(int(c.count or 0) for c in drawn)
    colours = {
        code: BAR_COLOURS[i % len(BAR_COLOURS)]
        for i, code in enumerate(dict.fromkeys(c.code2 for c in bars))
    }
    y, parts = 0, []
    for code1, row in groupby(drawn, key=lambda c: c.code1):
        parts.append(
            f'<text x="0" y="{y + 12}" font-weight="bold">'
            f"{escape(code_label(code1, drawn[0].dim1, lang))}</text>"
        )
        y += 16
        for c in row:
            width = max(1, round(360 * int(c.count or 0) / top))
            parts.append(
                f'<text x="10" y="{y + 10}">{escape(code_label(c.code2, c.dim2, lang))}</text>'
                f'<rect x="220" y="{y}" width="{width}" height="12" fill="{colours[c.code2]}"/>'
                f'<text x="{224 + width}" y="{y + 10}">{escape(shown(c, lang))}</text>'
            )
            y += 15
        y += 6
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="660" height="{y}" role="img">'
    return svg + "".join(parts) + "</svg>"


def to_html(release: Release, lang: Lang = "en") -> bytes:
    """The whole report as one html page."""
    p = release.period
    out = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{escape(title('report', lang))} {escape(period_name(p.label, lang))}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(title('report', lang))}: {escape(period_name(p.label, lang))}</h1>",
        f'<p class="meta">{escape(span(release, lang))} · {escape(word("release", lang))} '
        f"{escape(release.release_id)}</p>",
    ]
    for (name, basis), cells in grouped(release):
        out.append(f"<h2>{escape(title(name, lang))} — {escape(label(basis, lang))}</h2>")
        if name in ("B1", "C1"):
            out.append(bar_chart(cells, lang, skip=("Total", "NotBrokenDown", "AllPeople")))
        out.append(_table(cells, lang))
    out.append(f"<h2>{escape(title('F', lang))}</h2><ul><li>{escape(label('hidden', lang))}</li>")
    lines = method_lines(release.method, lang, method_labels(lang))
    out += [f"<li>{escape(line)}</li>" for line in lines]
    out.append("</ul></body></html>")
    return "\n".join(out).encode()
