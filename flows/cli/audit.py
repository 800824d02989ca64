"""`rehab audit show|verify`: the audit log, for a supervisor to read and anyone to check."""

from __future__ import annotations

import click

from casework.store import audit_log
from flows.cli.context import Context, case_code_argument, emit, pass_ctx
from flows.shown.render import local


@click.group()
def audit() -> None:
    """The audit log: who did what to which case, when."""


@audit.command("show")
@case_code_argument
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@pass_ctx
def audit_show(ctx: Context, code: str, as_json: bool) -> None:
    """Show every audit row of a case, oldest first (notes stay sealed)."""
    rows = audit_log.case_rows(ctx.app.store, code=code)
    if as_json:
        emit(rows)
        return
    if not rows:
        click.echo(f"no audit rows of case {code}")
    tz = ctx.app.settings.display_tz
    for r in rows:
        facts = ", ".join(f"{k}={v}" for k, v in r["detail"].items())
        note = " [a sealed note]" if r["note"] else ""
        click.echo(f"{local(r['at'], tz)}  {r['actor']:<14} {r['action']:<22} {facts}{note}")


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@pass_ctx
def audit_verify(ctx: Context, as_json: bool) -> None:
    """Check that no audit row was changed, deleted, inserted or back-dated, against the audit
    keys and head on the key mount: exit 1 naming the first broken row."""
    verdict = audit_log.verify(ctx.app.store)
    if as_json:
        emit(
            {
                "ok": verdict.ok,
                "rows": verdict.rows,
                "broken_at": verdict.broken_at,
                "why": verdict.why,
                "behind": verdict.behind,
            }
        )
    elif verdict.ok:
        click.echo(
            f"audit log intact: {verdict.rows} rows, each chained to the one before under the "
            "audit key"
            + (
                f"; the key mount's head is {verdict.behind} rows behind (a crash after a commit;"
                " the next row written moves it)"
                if verdict.behind
                else ""
            )
        )
    else:
        click.echo(f"audit log BROKEN: {verdict.why} ({verdict.rows} rows read)", err=True)
    if not verdict.ok:
        raise click.exceptions.Exit(1)
