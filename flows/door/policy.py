"""What the door lets a signed-in staff member do with Prefect's API (security.md rule 1):
read everything, write nothing, except submit a decision form, which the door itself checks
and records. Pure: a request's method and path in, a verdict out."""

from __future__ import annotations

import re
from typing import Literal

Verdict = Literal["read", "decision", "refused"]

# Prefect answers these POSTs without changing anything: they carry a query in their body.
_READ_POSTS = re.compile(
    r"""^/api/(
        .+/filter(/next)?            # every */filter, events/filter/next
      | .+/count                     # every */count, artifacts/latest/count
      | .+/paginate
      | .+/history
      | flow_runs/lateness
      | ui/flows/next-runs
      | ui/flows/count-deployments
      | ui/flow_runs/count-task-runs
      | ui/task_runs/dashboard/counts
      | ui/task_runs/count
      | ui/schemas/validate
      | events/count-by/[a-z_]+
      | flow_runs/[0-9a-f-]{36}/input/filter
    )$""",
    re.VERBOSE,
)
_RESUME = re.compile(r"^/api/flow_runs/(?P<run>[0-9a-f-]{36})/resume$")
_READ_STREAMS = frozenset({"/api/events/out", "/api/logs/out"})
# A read that is no view: a worker's claim on its scheduled runs. (The UI reads the server's
# settings and version at /admin; Prefect obfuscates every secret setting there.)
_CLOSED_READS = re.compile(r"^/api/work_pools/.*/get_scheduled_flow_runs$")


def classify(method: str, path: str) -> Verdict:
    """The verdict for an HTTP request through the door."""
    method = method.upper()
    segments = path.split("/")
    if ".." in segments or "." in segments or "" in segments[1:-1] or _CLOSED_READS.match(path):
        # A dot segment or an empty one could be resolved into another endpoint downstream.
        return "refused"
    if method in ("GET", "HEAD", "OPTIONS"):
        return "read"
    if method == "POST" and _READ_POSTS.match(path):
        return "read"
    if method == "POST" and _RESUME.match(path):
        return "decision"
    return "refused"


def resumed_run(path: str) -> str | None:
    """The flow run a resume request names, or None."""
    match = _RESUME.match(path)
    return match.group("run") if match else None


def stream_allowed(path: str) -> bool:
    """A websocket the UI may open through the door: only the read streams (events, logs)."""
    return path in _READ_STREAMS
