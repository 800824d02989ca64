"""What `rehab up` and its children cannot do: already up, a port taken, a child
stopped."""

from __future__ import annotations

from pathlib import Path

from plans.errors import RehabError


class AlreadyUp(RehabError):
    """`rehab up` already runs for this REHAB_HOME."""

    def __init__(self, home: Path, pid: str) -> None:
        self.home, self.pid = home, pid
        super().__init__(
            f"`rehab up` is already running for {home} (pid {pid}); stop it with Ctrl-C there first"
        )


class PortTaken(RehabError):
    """The embedded server's port is in use."""

    def __init__(self, port: int) -> None:
        self.port = port
        super().__init__(
            f"port {port} on 127.0.0.1 is taken: is another Prefect server or "
            "`rehab up` running? Stop it, or set REHAB_PREFECT_PORT or "
            "PREFECT_API_URL"
        )


class ProcessStopped(RehabError):
    """A process `rehab up` runs stopped or never answered; its log says why."""

    def __init__(self, what: str, log: Path, exit_code: int | None = None, when: str = "") -> None:
        self.what, self.log, self.exit_code = what, log, exit_code
        how = (
            f"did not answer {when}"
            if exit_code is None
            else (f"stopped{f' {when}' if when else ''} (exit {exit_code})")
        )
        super().__init__(f"{what} {how}; see {log}")
