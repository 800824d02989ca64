"""After a benchmark's run: does every plan's run in Prefect show what the case store says?
For each plan of a prefix, its run's tags and state message, its timeline artifact, a log line
for each step the store has started, and its open forms (decision runs waiting) are compared
with what rehab would show now from the store (`flows/showing.py`). A wake's Prefect side
follows its store work, so a plan that differs is looked at again a few times before it
counts: `ui_mismatches` is the plans that still differ."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOOKS = 5  # a differing plan is compared again this many times, PAUSE seconds apart
PAUSE = 3.0


def ui_mismatches(stack: Any, prefix: str) -> dict[str, Any]:
    """`ui_mismatches` (plans whose run differs from the store), `ui_checked` and up to five
    examples of what differed, by case code and what (never a value)."""
    with _environment(stack.env):
        from casework.services import wake  # noqa: PLC0415  # the tree under measure
        from casework.store import queries  # noqa: PLC0415
        from flows.app import App  # noqa: PLC0415

        app = App()
        try:
            codes = [
                c["case"] for c in queries.list_cases(app.store) if c["case"].startswith(prefix)
            ]
            differing: dict[str, list[str]] = {}
            todo = codes
            for look in range(LOOKS):
                if look:
                    time.sleep(PAUSE)
                runs = _runs(stack, prefix)
                differing = {}
                for code in todo:
                    seen = wake.seen(app.store, code=code, directories=app.directories)
                    what = _differences(stack, app, seen, runs)
                    if what:
                        differing[code] = what
                todo = list(differing)
                if not todo:
                    break
        finally:
            app.close()
    examples = [f"{code}: {', '.join(what)}" for code, what in list(differing.items())[:5]]
    return {"ui_mismatches": len(differing), "ui_checked": len(codes), "ui_examples": examples}


def _differences(stack: Any, app: Any, seen: Any, runs: dict[str, dict[str, Any]]) -> list[str]:
    from flows import showing  # noqa: PLC0415  # the tree under measure
    from flows.shown.artifacts import artifact_key, plan_markdown  # noqa: PLC0415

    code = seen.code
    run = runs.get(code)
    if run is None:
        return ["no run"]
    what = []
    tags, message = showing.labels(app, seen)
    if set(run["tags"]) - {"rehab"} != set(tags):
        what.append("tags")
    state = run.get("state") or {}
    if message is not None and (state.get("type") != "PAUSED" or state.get("message") != message):
        what.append("state message")
    waiting = [
        showing.waiting_on(d, manager=seen.manager, supervisor=seen.supervisor)
        for d in seen.waiting
    ]
    if seen.status is not None:
        shown = _newest_markdown(stack, run["id"], artifact_key(code))
        expected = plan_markdown(seen.status, waiting)
        if shown != expected:
            what.append("timeline")
            if os.environ.get("REHAB_BENCH_UI_DUMP"):
                rows = stack.api_post(
                    "/artifacts/filter",
                    {"artifacts": {"key": {"any_": [artifact_key(code)]}}, "sort": "CREATED_DESC"},
                )
                with open(os.environ["REHAB_BENCH_UI_DUMP"], "a") as dump:
                    dump.write(f"== {code} shown\n{shown}\n== expected\n{expected}\n")
                    for row in rows:  # every row of the key: which one the UI shows
                        first = str(row["data"]).splitlines()[4:5]
                        dump.write(f"-- {row['id']} {row['created']} {row['updated']} {first}\n")
        lines = _log_lines(stack, run["id"])
        started = [s["id"] for s in seen.status["steps"] if s.get("started_at")]
        if any(f"step-started {step}" not in lines for step in started):
            what.append("events")
    open_forms = {
        r["id"]
        for name, r in runs.items()
        if name.startswith(f"{code} · ") and (r.get("state") or {}).get("type") == "PAUSED"
    }
    if open_forms != {d.flow_run_id for d in seen.waiting}:
        what.append("open forms")
    return what


def _runs(stack: Any, prefix: str) -> dict[str, dict[str, Any]]:
    """Every run named after a case of `prefix` (plans and decisions), by name."""
    found: list[dict[str, Any]] = []
    while True:
        page = stack.api_post(
            "/flow_runs/filter",
            {"flow_runs": {"name": {"like_": prefix}}, "offset": len(found), "limit": 200},
        )
        found += page
        if len(page) < 200:
            return {r["name"]: r for r in found}


def _newest_markdown(stack: Any, run_id: str, key: str) -> Any:
    rows = stack.api_post(
        "/artifacts/filter",
        {
            "artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [run_id]}},
            "sort": "CREATED_DESC",
            "limit": 1,
        },
    )
    return rows[0]["data"] if rows else None


def _log_lines(stack: Any, run_id: str) -> str:
    lines: list[dict[str, Any]] = []
    while True:
        page = stack.api_post(
            "/logs/filter",
            {"logs": {"flow_run_id": {"any_": [run_id]}}, "offset": len(lines), "limit": 200},
        )
        lines += page
        if len(page) < 200:
            return "\n".join(line["message"] for line in lines)


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """The stack's environment (its store, directories, Prefect) while rehab's App is used."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
