"""`rehab staff enrol`: a staff member's secret for the codes they type into the UI's forms."""

from __future__ import annotations

import io

import click
import qrcode

from casework.services import door_access, invites, staff_codes
from flows.cli.context import Context, emit, pass_ctx


@click.group()
def staff() -> None:
    """Staff: enrol a staff member (authenticator and invite), or revoke her access."""


@staff.command("enrol")
@click.argument("staff_id", metavar="STAFF")
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"staff": ..., "uri": ..., "invite": ...}.'
)
@pass_ctx
def staff_enrol(ctx: Context, staff_id: str, as_json: bool) -> None:
    """Make a new secret for STAFF (any earlier one stops working) and show it once: an
    otpauth:// URI and its QR code, for an authenticator app on their phone, and a one-time
    invite link (72 hours) where they set their password for the door. Give both to them in
    person; nothing else ever shows them again."""
    app = ctx.app
    uri = staff_codes.enrol(app.store, app.directories, staff=staff_id, now=app.now())
    token = invites.invite(app.store, app.directories, staff=staff_id, now=app.now())
    invite = f"{app.settings.door_url}/invite/{token}"
    if as_json:
        emit({"staff": staff_id, "uri": uri, "invite": invite})
        return
    picture = qrcode.QRCode(border=1)
    picture.add_data(uri)
    out = io.StringIO()
    picture.print_ascii(out=out, invert=True)
    click.echo(out.getvalue().rstrip("\n"))
    click.echo(
        f"\n{uri}\n\n{staff_id}: scan this with an authenticator app (or enter the URI); "
        "the 6-digit code it shows is asked at sign-in.\n"
        f"Then open this link, once, within 72 hours, to set a password:\n{invite}"
    )


@staff.command("revoke")
@click.argument("staff_id", metavar="STAFF")
@click.option("--json", "as_json", is_flag=True, help='Print {"staff": ..., "sessions_ended": N}.')
@pass_ctx
def staff_revoke(ctx: Context, staff_id: str, as_json: bool) -> None:
    """End STAFF's sessions at the door at once and refuse her sign-in until she is enrolled
    again (her password and authenticator secret are forgotten)."""
    app = ctx.app
    ended = door_access.revoke(app.store, staff=staff_id, now=app.now())
    if as_json:
        emit({"staff": staff_id, "sessions_ended": ended})
        return
    click.echo(f"{staff_id}: {ended} session(s) ended; enrol her again to let her back in")
