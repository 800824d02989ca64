"""`rehab person set|show`: the person's data, written and read only in the sealed case store,
never through argv; every read audited with its reason."""

from __future__ import annotations

import sys
from typing import Any

import click
import yaml

from casework.services import person as person_data
from flows.cli.context import Context, case_code_argument, emit, pass_ctx, reason_option
from plans.errors import InvalidFile
from plans.loading import parse_model, read_yaml
from plans.model import Person, Strict


class PersonBlock(Strict):
    """The person as `person set` reads it: a plan's `person` block on its own."""

    person: Person


by_option = click.option(
    "--by", help="Staff id the operator acts for (their role must allow it; default: none)."
)


def _prompted() -> dict[str, Any]:
    """The person's fields asked one by one at a terminal (Enter skips one)."""
    fields = Person.model_fields
    data: dict[str, Any] = {}
    for name in ("name", "gender", "birth_year", "contact", "exploitation"):
        answer = click.prompt(
            f"{name} ({fields[name].annotation})",
            default="",
            show_default=False,
            hide_input=name in ("name", "contact"),
        )
        if answer.strip():
            data[name] = (
                [a.strip() for a in answer.split(",")] if name == "exploitation" else answer.strip()
            )
    return data


@click.group()
def person() -> None:
    """The person's data: set it, or read it with a reason (audited)."""


@person.command("set")
@case_code_argument
@by_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def person_set(ctx: Context, code: str, by: str | None, as_json: bool) -> None:
    """Seal the person's data into the case: YAML on stdin (any field of a plan's person
    block: name, gender, birth_year, contact, exploitation, citizenship, ...), or prompts at a
    terminal (the contract's five fields). It replaces what was there."""
    app = ctx.app
    raw = _prompted() if sys.stdin.isatty() else (read_yaml("<stdin>", sys.stdin.read()))
    # Parsed as a plan's `person` block, so an error names the field and never its value.
    holder, issues = parse_model(PersonBlock, {"person": raw}, "<stdin>")
    if holder is None:
        raise InvalidFile(issues)
    person_data.store_person(
        app.store, app.directories, code=code, person=holder.person, by=by, now=app.now()
    )
    if as_json:
        emit({"case": code, "person": "sealed"})
    else:
        click.echo(f"{code}: the person's data is sealed in the case store")


@person.command("show")
@case_code_argument
@reason_option()
@by_option
@click.option("--json", "as_json", is_flag=True, help="Print the data as JSON.")
@pass_ctx
def person_show(ctx: Context, code: str, reason: str, by: str | None, as_json: bool) -> None:
    """Read the person's data: the read is audited with who and why (`--reason -`: the
    reason from stdin, never argv)."""
    app = ctx.app
    shown = person_data.show_person(
        app.store, app.directories, code=code, reason=reason, by=by, now=app.now()
    )
    data = None if shown is None else shown.model_dump(mode="json")
    if as_json:
        emit({"case": code, "person": data})
    elif data is None:
        click.echo(f"{code}: no personal data is kept")
    else:
        click.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False).rstrip())
