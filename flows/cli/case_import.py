"""`rehab case import FILE`: cases that began before rehab, recorded (not launched), in
batches of records written together, each record whole or not at all; a summary at the end,
exit 1 if any record was refused."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, Any

import click

from casework.domain.errors import UnknownStaff
from casework.services import importing
from flows.cli.context import Context, emit, pass_ctx
from plans.errors import InvalidFile, Issue, RecordIssue, RecordsRefused
from plans.imports import MAX_IMPORT_BYTES, parse_record, read_records

PROGRESS_EVERY = 500  # records between progress lines off a terminal (importing.BATCH divides it)


class Progress:
    """How far a long import is, on stderr: a line every PROGRESS_EVERY records, or one line
    kept up to date at a terminal."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total, self.stream, self.started = total, stream, time.monotonic()
        self.tty = stream.isatty()
        self._shown = -1

    def step(self, done: int) -> None:
        """`done` records are through."""
        if self.total < PROGRESS_EVERY:
            return
        percent = done * 100 // self.total
        if self.tty and percent != self._shown:
            self._shown = percent
            self.stream.write(f"\r{self._line(done)}")
        elif not self.tty and (done % PROGRESS_EVERY == 0 or done == self.total):
            self.stream.write(self._line(done) + "\n")
        self.stream.flush()

    def end(self) -> None:
        """Close the terminal's progress line."""
        if self.tty and self.total >= PROGRESS_EVERY:
            self.stream.write("\n")

    def _line(self, done: int) -> str:
        seconds = time.monotonic() - self.started
        return f"import: {done}/{self.total} records ({done * 100 // self.total}%), {seconds:.1f} s"


def _read(file: str) -> tuple[str, str]:
    """(name, text) of the file, or of stdin for `-`."""
    if file == "-":
        return "<stdin>", sys.stdin.read(MAX_IMPORT_BYTES + 1)
    try:
        with Path(file).open("rb") as handle:
            data = handle.read(MAX_IMPORT_BYTES + 1)
        return file, data.decode("utf-8")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise InvalidFile([Issue(file, "", "no such file")]) from exc
    except UnicodeDecodeError as exc:
        raise InvalidFile([Issue(file, "", "not UTF-8 text")]) from exc


@click.command("import")
@click.argument("file", metavar="FILE")
@click.option(
    "--by",
    help="Staff id the operator acts for: each record's manager, supervisor or a director "
    "(default: each record's own manager).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_ctx
def case_import(ctx: Context, file: str, by: str | None, as_json: bool) -> None:
    """Bring in cases that began before rehab from a YAML list (FILE, or - for stdin):
    recorded, not launched; the person sealed at once; each import audited. Importing the
    same file again changes nothing."""
    app = ctx.app
    staff = app.directories.staff.staff
    if by is not None and by not in staff:
        raise UnknownStaff(by, app.directories.staff_file, list(staff))
    name, text = _read(file)
    raws = read_records(name, text)
    counts = {"imported": 0, "already-there": 0}
    refused: list[RecordIssue] = []
    progress = Progress(len(raws), sys.stderr)
    # Records go in batches (importing.BATCH to a transaction); progress is told per batch.
    for start in range(0, len(raws), importing.BATCH):
        parsed = [
            (position, parse_record(raw, position))
            for position, raw in enumerate(raws[start : start + importing.BATCH], start=start + 1)
        ]
        good = [(p, r) for p, r in parsed if not isinstance(r, list)]
        results = iter(
            importing.import_records(app.store, app.directories, good, by=by, now=app.now())
        )
        for _, item in parsed:
            done = item if isinstance(item, list) else next(results)
            if isinstance(done, list):
                refused += done
            else:
                counts[done] += 1
        progress.step(start + len(parsed))
    progress.end()
    summary: dict[str, Any] = {
        "file": name,
        "records": len(raws),
        "imported": counts["imported"],
        "already_there": counts["already-there"],
        "refused": [vars(r) for r in refused],
    }
    failed = (
        RecordsRefused(
            name,
            refused,
            records=len(raws),
            imported=counts["imported"],
            already_there=counts["already-there"],
        )
        if refused
        else None
    )
    if as_json:
        if failed is not None:
            raise failed  # printed as data: the whole summary
        emit(summary)
        return
    records = len({r.record for r in refused})
    click.echo(
        f"{name}: {len(raws)} records: imported {counts['imported']}, already there "
        f"{counts['already-there']}, refused {records}"
    )
    for issue in refused:
        click.echo(f"  {issue}")
    if failed is not None:
        raise failed
