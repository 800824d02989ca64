"""`rehab partners check`: a test message through each channel of each partner."""

from __future__ import annotations

from typing import Any

import click

from casework.store.audit_rows import audit
from flows.cli.context import Context, emit, pass_ctx
from notifications.notifier import scheme
from notifications.render import render
from plans.errors import UnknownPartner


@click.group()
def partners() -> None:
    """The partner directory."""


@partners.command("check")
@click.argument("partner", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def partners_check(ctx: Context, partner: str | None, as_json: bool) -> None:
    """Send a test message through each channel of each partner (or one) and report which
    work. Exit 1 if any channel failed."""
    app = ctx.app
    directory = app.directories.partners.partners
    if partner is not None and partner not in directory:
        raise UnknownPartner(partner, app.directories.partners_file, sorted(directory))
    results = []
    for pid in [partner] if partner else sorted(directory):
        entry = directory[pid]
        subject, body = render("test", entry.language, {})
        for position, url in enumerate(entry.notify):
            delivery = app.notifier.send([url], subject, body)
            # A channel is named by its partner, position and scheme: a URL may hold a token.
            result: dict[str, Any] = {
                "partner": pid,
                "channel": position,
                "scheme": scheme(url),
                "ok": delivery.delivered,
            }
            if not delivery.delivered:  # apprise's words, the URL's parts removed
                result["reason"] = delivery.reason(0) or "no reason given"
            results.append(result)
    with app.store.session() as session:
        for r in results:
            audit(
                session,
                sealer=app.store.sealer,
                case_code=None,
                actor="partners-check",
                action="test-message-sent" if r["ok"] else "test-message-failed",
                now=app.now(),
                detail={k: v for k, v in r.items() if k != "reason"},
            )
    if as_json:
        emit(results)
    else:
        for r in results:
            verdict = "ok" if r["ok"] else f"FAILED: {r['reason']}"
            click.echo(f"{r['partner']:<28} #{r['channel']} {r['scheme']:<12} {verdict}")
    failed = [r for r in results if not r["ok"]]
    if failed:
        click.echo(
            f"{len(failed)} of {len(results)} channels failed: fix them in "
            f"{app.directories.partners_file}",
            err=True,
        )
        raise click.exceptions.Exit(1)
    if not as_json:
        click.echo(f"all {len(results)} channels work ({app.directories.partners_file})")
