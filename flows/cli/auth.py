"""`rehab auth rotate`: Prefect's auth string renewed, while `rehab up` runs or not."""

from __future__ import annotations

import click

from casework.store.audit_rows import audit
from flows.cli.context import Context, emit, pass_ctx
from flows.prefect import auth_rotation
from plans.errors import RehabError


class NotOurServer(RehabError):
    """PREFECT_API_URL names a server rehab did not start: its string is its operator's."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"Prefect at {url} is not the server rehab up starts: renew its auth string there "
            "and give rehab the new one in PREFECT_API_AUTH_STRING"
        )


class RotationStalled(RehabError):
    """`rehab up` did not take the new string in time; the old one still works."""

    def __init__(self, why: str) -> None:
        super().__init__(f"{why}; the old auth string still works: look at its logs, try again")


@click.group("auth")
def auth() -> None:
    """Prefect's auth string (never shown to a person)."""


@auth.command("rotate")
@click.option("--json", "as_json", is_flag=True, help='Print {"renewed": true, "while_up": ...}.')
@pass_ctx
def auth_rotate(ctx: Context, as_json: bool) -> None:
    """Give the embedded Prefect server a new auth string. While `rehab up` runs, it restarts
    the server, the runner and the door with it (runs in flight finish first); the old string
    opens nothing afterwards. Audited."""
    app = ctx.app
    settings = app.settings
    if settings.prefect_api_url is not None:
        raise NotOurServer(settings.prefect_api_url)
    try:
        live = auth_rotation.request(settings)
    except TimeoutError as exc:
        raise RotationStalled(str(exc)) from None
    with app.store.session() as session:
        audit(
            session,
            sealer=app.store.sealer,
            case_code=None,
            actor="operator",
            action="prefect-auth-rotated",
            now=app.now(),
            detail={"while_up": live},
        )
    if as_json:
        emit({"renewed": True, "while_up": live})
        return
    click.echo(
        "Prefect's auth string renewed: "
        + (
            "the server, the runner and the door restarted with it"
            if live
            else "the next `rehab up` uses it"
        )
    )
