"""`rehab staff enrol`: a staff member's secret for the codes they type into the UI's forms."""

from __future__ import annotations

import io

import click
import qrcode

from casework import staff_codes
from flows.cli.context import Context, emit, pass_ctx


@click.group()
def staff() -> None:
    """Staff: enrol a staff member's authenticator app."""


@staff.command("enrol")
@click.argument("staff_id", metavar="STAFF")
@click.option("--json", "as_json", is_flag=True, help='Print {"staff": ..., "uri": ...}.')
@pass_ctx
def staff_enrol(ctx: Context, staff_id: str, as_json: bool) -> None:
    """Make a new secret for STAFF (any earlier one stops working) and show it once: an
    otpauth:// URI and its QR code, for an authenticator app on their phone. Give it to them
    in person; nothing else ever shows it again."""
    app = ctx.app
    uri = staff_codes.enrol(app.store, app.directories, staff=staff_id, now=app.now())
    if as_json:
        emit({"staff": staff_id, "uri": uri})
        return
    picture = qrcode.QRCode(border=1)
    picture.add_data(uri)
    out = io.StringIO()
    picture.print_ascii(out=out, invert=True)
    click.echo(out.getvalue().rstrip("\n"))
    click.echo(
        f"\n{uri}\n\n{staff_id}: scan this with an authenticator app (or enter the URI); "
        "the 6-digit code it shows goes into each form they submit in the Prefect UI."
    )
