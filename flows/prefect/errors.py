"""What the Prefect side cannot do: the engine unreachable or refusing the auth string,
a run not created."""

from __future__ import annotations

from plans.errors import RehabError


class EngineUnreachable(RehabError):
    """The Prefect API does not answer; nothing was changed."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"the plan engine is not reachable at {url}: start it with `rehab up` "
            "(or set PREFECT_API_URL); nothing was changed"
        )


class EngineRefusedAuth(RehabError):
    """The Prefect API refuses rehab's auth string; nothing was changed. `auth_file` is None
    for a server `rehab up` did not start: it is never sent REHAB_HOME's string."""

    def __init__(self, url: str, auth_file: str | None) -> None:
        self.url, self.auth_file = url, auth_file
        where = (
            f"is {auth_file} (made by `rehab up`) current? restart `rehab up`"
            if auth_file
            else "set PREFECT_API_AUTH_STRING to that server's PREFECT_SERVER_API_AUTH_STRING "
            "(REHAB_HOME's string goes only to the server `rehab up` started)"
        )
        super().__init__(
            f"the Prefect server at {url} refused rehab's auth string: {where}; nothing was changed"
        )


class RunNotCreated(RehabError):
    """The case is recorded but its flow run could not be created (the clock will)."""

    def __init__(self, code: str, cause: str) -> None:
        self.code, self.cause = code, cause
        super().__init__(
            f"case {code} is recorded, but its flow run could not be created "
            f"({cause}); is `rehab up` serving? It will be started as soon as the "
            "engine runs"
        )
