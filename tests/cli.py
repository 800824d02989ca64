"""The `rehab` command as tests run it: in this process through click's runner (no second of
imports per call), or as a real process where the test is about the process itself (its memory,
a signal, another OS user, what the terminal shows). Both answer with the same `Done`."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner

from flows.cli import cli

OWN = ("REHAB_", "PREFECT_")  # the variables a test's environment stands for entirely


@dataclass
class Done:
    """What the operator saw: the exit code, standard output and standard error."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both, as one terminal shows them."""
        return self.stdout + self.stderr


def rehab(env: dict[str, str], *args: str, stdin: str | None = "") -> Done:
    """`rehab ARGS` in this process, with exactly `env` as its rehab and Prefect environment
    (and any other variable `env` names), `stdin` piped in; as `python -m flows` runs it."""
    saved = dict(os.environ)
    prefect = _prefect_settings()
    umask = os.umask(0o077)  # what the command's main() sets before anything is written
    try:
        for name in [n for n in os.environ if n.startswith(OWN)]:
            del os.environ[name]
        os.environ.update(env)
        _refresh_prefect()  # a real process reads Prefect's settings from its own environment
        result = CliRunner().invoke(cli, list(args), prog_name="rehab", input=stdin or "")
    finally:  # the engine client exports Prefect's settings for its own client
        os.umask(umask)
        os.environ.clear()
        os.environ.update(saved)
        _restore_prefect(prefect)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # The runner catches what escaped the command; a real process prints it, exit 1.
        stderr += "".join(traceback.format_exception(result.exception))
    return Done(result.exit_code, result.stdout, stderr)


def rehab_process(
    env: dict[str, str],
    *args: str,
    stdin: str | None = "",
    timeout: float = 120,
    preexec_fn: Callable[[], Any] | None = None,
) -> Done:
    """`python -m flows ARGS` as a real process with nothing but `env` in its environment."""
    done = subprocess.run(
        [sys.executable, "-m", "flows", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec_fn,
    )
    return Done(done.returncode, done.stdout, done.stderr)


def _prefect_settings() -> object | None:
    context = sys.modules.get("prefect.context")
    return None if context is None else context.GLOBAL_SETTINGS_CONTEXT


# Prefect's settings as read from one environment: reading them costs about 0.1 s, and a test
# runs the command many times in one environment. They are read from the PREFECT_ variables,
# and from files in the working directory and the Prefect home (no test writes one between
# two commands).
_READ: dict[tuple[str, str, frozenset[tuple[str, str]]], object] = {}


def _refresh_prefect() -> None:
    context = sys.modules.get("prefect.context")
    if context is None:
        return
    prefect = frozenset((k, v) for k, v in os.environ.items() if k.startswith("PREFECT_"))
    key = (os.getcwd(), os.environ.get("HOME", ""), prefect)
    if key not in _READ:
        context.refresh_global_settings_context()
        if len(_READ) > 64:
            _READ.clear()
        _READ[key] = context.GLOBAL_SETTINGS_CONTEXT
    context.GLOBAL_SETTINGS_CONTEXT = _READ[key]


def _restore_prefect(saved: object | None) -> None:
    context = sys.modules.get("prefect.context")
    if context is None:
        return
    if saved is None:  # imported by the command, from its environment: read this one's again
        context.refresh_global_settings_context()
    else:
        context.GLOBAL_SETTINGS_CONTEXT = saved
