"""`rehab report monthly|quarterly|yearly|since-start`: the programme report for funders and
the referral mechanism, disclosure-controlled (report.md). Writing it to a file (-o) makes it
a release, recorded (aggregates only) so later releases are checked against it."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import click

from casework.store.report_releases import audit_read, priors, record_release
from casework.store.report_source import partner_kinds, read_people
from flows.cli.context import Context, emit, pass_ctx
from flows.cli.output import check_new_file, create_new_file
from plans.errors import BadOption, PeriodNotBegun
from plans.model import DEFAULT_TIMEZONE
from report import periods
from report.release import Release, build
from report.render_html import to_html
from report.render_text import to_csv, to_json, to_md
from report.vocabulary import Lang

FORMATS: dict[str, Callable[[Release, Any], bytes]] = {
    "md": to_md,
    "csv": lambda release, _lang: to_csv(release),
    "json": to_json,
    "html": to_html,
}


@click.group()
def report() -> None:
    """The programme report: people helped, who they are in broad strokes, the help they got."""


def _common(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="With -o, print what was written as JSON; else the same as --format json.",
    )(command)
    command = click.option("--lang", default="en", metavar="en|ru|be", help="Labels' language.")(
        command
    )
    command = click.option(
        "-o",
        "output",
        type=click.Path(path_type=Path),
        metavar="FILE",
        help="Write it to FILE (0600): a release, recorded for the next ones' checks.",
    )(command)
    return click.option(
        "--format",
        "fmt",
        default="md",
        metavar="md|csv|json|html",
        help="md for the terminal (default), csv, json, or html to print to PDF.",
    )(command)


def _run(
    ctx: Context,
    make: Callable[[str], periods.Period],
    fmt: str,
    output: Path | None,
    lang: str,
    as_json: bool,
) -> None:
    if as_json and output is None:
        fmt = "json"
    if fmt not in FORMATS:
        raise BadOption("--format", fmt, "one of md, csv, json, html")
    if lang not in get_args(Lang):
        raise BadOption("--lang", lang, "one of en, ru, be")
    if output is not None:
        check_new_file(output)  # before the store is read: a bad path is told at once
    app = ctx.app
    tz = app.directories.staff.timezone or DEFAULT_TIMEZONE
    period = make(tz)
    now = app.now()
    if periods.in_future(period, now):
        raise PeriodNotBegun(period.label)
    began = time.monotonic()
    click.echo(f"report: reading the case store for {period.label} ...", err=True)
    people = read_people(app.store, app.directories, tz=tz)
    click.echo(f"report: {len(people)} cases read in {time.monotonic() - began:.1f} s", err=True)
    release_id = f"R{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}" if output else "draft"
    audit_read(app.store, period=period, cases=len(people), release_id=release_id, now=now)
    release = build(
        people,
        period,
        threshold=app.settings.report_threshold,
        release_id=release_id,
        priors=priors(app.store, period),
        partner_kinds=partner_kinds(app.directories),
        scopes=["statistics"],
    )
    data = FORMATS[fmt](release, lang)
    if output is None:
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
        return
    fd = create_new_file(output)  # aggregates, still ours (0600)
    try:
        # Recorded before it is written: a file that exists is always a release later ones
        # are checked against.
        record_release(app.store, release, now=now)
    except BaseException:
        os.close(fd)
        output.unlink()
        raise
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    if as_json:
        emit({"release_id": release_id, "period": period.label, "cells": len(release.cells),
              "format": fmt, "file": str(output)})  # fmt: skip
        return
    click.echo(
        f"release {release_id}: {period.label}, {len(release.cells)} cells, written to {output}"
    )


@report.command("monthly")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month, e.g. 2026-11.")
@_common
@pass_ctx
def monthly(
    ctx: Context, month: str, fmt: str, output: Path | None, lang: str, as_json: bool
) -> None:
    """The report of one month (and since the start)."""
    _run(ctx, lambda tz: periods.monthly(month, tz), fmt, output, lang, as_json)


@report.command("quarterly")
@click.option("--quarter", required=True, metavar="YYYY-Qn", help="The quarter, e.g. 2026-Q4.")
@_common
@pass_ctx
def quarterly(
    ctx: Context, quarter: str, fmt: str, output: Path | None, lang: str, as_json: bool
) -> None:
    """The report of one quarter (and since the start)."""
    _run(ctx, lambda tz: periods.quarterly(quarter, tz), fmt, output, lang, as_json)


@report.command("yearly")
@click.option("--year", required=True, metavar="YYYY", help="The year, e.g. 2026.")
@_common
@pass_ctx
def yearly(
    ctx: Context, year: str, fmt: str, output: Path | None, lang: str, as_json: bool
) -> None:
    """The report of one year (and since the start)."""
    _run(ctx, lambda tz: periods.yearly(year, tz), fmt, output, lang, as_json)


@report.command("since-start")
@_common
@pass_ctx
def since_start(ctx: Context, fmt: str, output: Path | None, lang: str, as_json: bool) -> None:
    """Everything since the programme began."""
    _run(ctx, lambda tz: periods.since_start(ctx.app.now(), tz), fmt, output, lang, as_json)
