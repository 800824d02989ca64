"""Benchmark: people's forms submitted through the door while 100 plans wake at once, on
SQLite: how many are refused on their first try (a 503 for "database is locked", or any other
non-2xx), with the server as `rehab up` starts it and, side by side, plain `prefect server
start` (without its SQLite tuning).

    .venv/bin/python bench/forms_under_load.py [--forms 24] [--due 100] [--spread 15]

Each form is an approval of a plan waiting on one (its run Suspended with its form), sent by
its own director as the Prefect UI sends it through the door (`python -m flows.door` for the
bench's home, on a free port): each director is enrolled (authenticator and invite, as `rehab
staff enrol` makes them), sets her password through her invite and signs in once with her
password and a code, before the storm (a code works once per 30 s step per person, so never
per form). Then, with her session, the form read beforehand through the door from the run's
stored schema, a CSRF token fetched through the door, and one POST /api/flow_runs/{id}/resume,
never retried, which the door records in the case store as hers. Afterwards each approval must
be in the case store exactly once. Forms carry no code any more, so `forms_code_refused` stays
0; `forms_refused_in_store` counts decisions the services refused (and audited).
Figures are printed and merged into bench/results.json under "sqlite".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # after the path set-up
from sqlalchemy import create_engine, func, select

from bench.common import make_due, record
from bench.door import enrol, sign_in, start_door, ui_csrf
from bench.scale import Stack, launch_plans, say
from casework.store.tables import AuditRow
from tests.e2e.harness import as_the_ui_fills_it, wait_for

STAFF = """
default_supervisor: l-istomova
staff:
  n-zdolnik: {{name: Example case manager, role: case-manager}}
  l-istomova: {{name: Example supervisor, role: supervisor}}
{directors}
"""


LOCKED = "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked"


def director(i: int) -> str:
    return f"d-{i:03d}"


def waiting_forms(stack: Stack, prefix: str) -> dict[str, str]:
    """Case code -> id of its approval run, for the runs waiting with their first form."""
    runs = stack.api_post(
        "/flow_runs/filter",
        {
            "flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}},
            "flows": {"name": {"any_": ["decision"]}},
            "limit": 200,
        },
    )
    return {
        r["name"].split(" · ")[0]: r["id"]
        for r in runs
        if r["name"].startswith(f"{prefix}-")
        and r["name"].endswith(" · approval")
        and r["state"]["state_details"].get("pause_key") == "approval-plan"
    }


class Person:
    """One director, signed in at the door, with the form of one plan open in the UI."""

    def __init__(self, browser: httpx.Client, who: str, run_id: str) -> None:
        self.browser, self.who, self.run_id = browser, who, run_id
        # Opened before the storm, through the door: the run, its form's stored schema and
        # a CSRF token of her own.
        run = browser.get(f"/api/flow_runs/{run_id}").json()
        keyset = run["state"]["state_details"]["run_input_keyset"]
        stored = browser.get(f"/api/flow_runs/{run_id}/input/{keyset['schema']}").json()
        schema = json.loads(stored) if isinstance(stored, str) else stored
        self.values = as_the_ui_fills_it(schema, {})
        self.headers = ui_csrf(browser, f"ui-{who}")
        self.status = 0
        self.answer = ""
        self.seconds = 0.0

    def submit(self, at: float) -> None:
        """Resume through the door at `at` (time.time()), once."""
        time.sleep(max(0.0, at - time.time()))
        began = time.monotonic()
        try:
            response = self.browser.post(
                f"/api/flow_runs/{self.run_id}/resume",
                json={"run_input": self.values},
                headers=self.headers,
                timeout=120,
            )
            self.status = response.status_code
            if response.is_success:
                self.answer = response.json().get("status", "")
            else:
                self.answer = response.text[:200]
        except httpx.HTTPError as exc:
            self.answer = type(exc).__name__
        self.seconds = time.monotonic() - began


def open_forms(
    stack: Stack, door: str, runs: dict[str, str], forms: int, browsers: dict[str, httpx.Client]
) -> list[Person]:
    """Each director enrolled and signed in once at the door (her browser kept in
    `browsers`), with one plan's approval form open."""
    directors = [director(i) for i in range(forms)]
    enrolled = enrol(stack, directors)
    browsers.update({who: sign_in(door, who, *enrolled[who]) for who in directors})
    say(f"{forms} directors signed in at the door")
    return [
        Person(browsers[directors[i]], directors[i], runs[code])
        for i, code in enumerate(sorted(runs)[:forms])
    ]


def one_run(tuned: bool, args: argparse.Namespace) -> dict[str, Any]:
    """One stack: park the forms and the due plans, submit the forms during the wake storm."""
    forms, due, spread, keep = args.forms, args.due, args.spread, args.keep
    with tempfile.TemporaryDirectory(prefix="rehab-forms-") as tmp:
        folder = Path(tmp) if keep is None else keep / ("tuned" if tuned else "untuned")
        folder.mkdir(parents=True, exist_ok=True)
        store = f"sqlite:///{folder / 'cases.db'}"
        staff_file = folder / "staff.yaml"
        staff_file.write_text(
            STAFF.format(
                directors="\n".join(
                    f"  {director(i)}: {{name: Example director, role: director}}"
                    for i in range(forms)
                )
            )
        )
        stack = Stack(
            folder, None, store, 8, tuned=tuned, extra_env={"REHAB_STAFF_FILE": str(staff_file)}
        )
        for name in args.skip:  # to measure the tuning without one of its settings
            stack.server_env.pop(name, None)
        browsers: dict[str, httpx.Client] = {}
        try:
            stack.up()
            door = start_door(stack)
            far = datetime.now(UTC)
            say(f"{'tuned' if tuned else 'untuned'}: {forms} plans waiting for approval")
            launch_plans(stack, "FORM", forms, far, "365d", approval_required=True)
            runs = wait_for(
                lambda: (found := waiting_forms(stack, "FORM")) and len(found) >= forms and found,
                timeout=20 * 60,
                what="the approval forms to wait",
                every=2,
            )
            people = open_forms(stack, door, runs, forms, browsers)
            launch_plans(stack, "DUE", due, far, "365d")
            due_at = make_due(store, "DUE", datetime.now(UTC) + timedelta(seconds=20))
            say(f"{due} plans due at {due_at:%H:%M:%S}; forms sent over {spread:.0f} s from then")
            start = due_at.timestamp()
            threads = [
                threading.Thread(target=p.submit, args=(start + spread * i / forms,))
                for i, p in enumerate(people)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            engine = create_engine(store)

            def audited(action: str, prefix: str) -> dict[str, int]:
                with engine.connect() as conn:
                    rows = conn.execute(
                        select(AuditRow.case_code, func.count())
                        .where(AuditRow.action == action, AuditRow.case_code.like(f"{prefix}-%"))
                        .group_by(AuditRow.case_code)
                    ).all()
                return {str(code): count for code, count in rows}

            wait_for(
                lambda: sum(audited("step-started", "DUE").values()) >= due,
                timeout=15 * 60,
                what="the due plans to start",
                every=2,
            )
            sent = sum(p.status // 100 == 2 for p in people)
            say(f"{sent} of {forms} forms taken on the first try; waiting for the decisions")
            try:  # each form taken ends in the store: recorded, or refused by the services
                wait_for(
                    lambda: (
                        len(audited("approve", "FORM")) + sum(audited("refused", "FORM").values())
                        >= sent
                    ),
                    timeout=10 * 60,
                    what="the decisions to be taken",
                    every=2,
                )
            except AssertionError as exc:
                say(str(exc))
            approvals = audited("approve", "FORM")
            refused = audited("code-refused", "FORM")
            refused_in_store = audited("refused", "FORM")
            engine.dispose()
        finally:
            for browser in browsers.values():
                browser.close()
            stack.stop()
        log = (folder / "server.log").read_text(errors="replace")
        door_log = (folder / "door.log").read_text(errors="replace")
    failed = [p for p in people if p.status // 100 != 2]
    return {
        "forms_submitted": forms,
        "forms_failed_first_try": len(failed),
        "forms_failed_statuses": sorted({p.status or p.answer for p in failed}, key=str),
        "forms_failed_answers": sorted({f"{p.status} {p.answer}"[:160] for p in failed}),
        "forms_not_accepted": sum(p.answer != "ACCEPT" for p in people),
        "forms_recorded_once": sum(count == 1 for count in approvals.values()),
        "forms_recorded_twice_or_more": sum(count > 1 for count in approvals.values()),
        "forms_code_refused": sum(refused.values()),
        "forms_refused_in_store": sum(refused_in_store.values()),
        "form_post_p50_s": round(statistics.median(p.seconds for p in people), 3),
        "form_post_max_s": round(max(p.seconds for p in people), 3),
        # Every write the server lost to SQLite's lock, the forms' and its own services'.
        "server_lock_errors": log.count(LOCKED),
        # The door's own failures (its writes to the case store among them).
        "forms_door_errors": door_log.count("Traceback"),
    }


def main() -> None:
    """Untuned, then as `rehab up` starts it, each in a process of its own; print both side by
    side and record them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=24, help="forms submitted (each once)")
    parser.add_argument("--due", type=int, default=100, help="plans that wake at one moment")
    parser.add_argument(
        "--spread", type=float, default=15, help="seconds over which the forms are sent"
    )
    parser.add_argument("--only", choices=["tuned", "untuned"], help="run one variant alone")
    parser.add_argument("--keep", type=Path, help="keep each run's databases and logs here")
    parser.add_argument(
        "--skip", action="append", default=[], help="a tuning setting left out (repeatable)"
    )
    args = parser.parse_args()
    if args.only:  # one variant, in a process of its own: Prefect's client settings are global
        print(json.dumps(one_run(args.only == "tuned", args)))
        return
    results: dict[str, dict[str, Any]] = {}
    for variant in ("untuned", "tuned"):
        done = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--only", variant],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    keys = list(results["tuned"])
    print(f"\nforms sent through the door while {args.due} plans wake at once (SQLite):")
    print(f"  {'':<30}  " + "  ".join(f"{v:>10}" for v in results))
    for key in keys:
        if key != "forms_failed_answers":
            print(f"  {key:<30}  " + "  ".join(f"{r[key]!s:>10}" for r in results.values()))
    for variant, result in results.items():
        for answer in result["forms_failed_answers"]:
            print(f"  {variant} failed: {answer}")
    tuned, untuned = results["tuned"], results["untuned"]
    listed = ("forms_failed_statuses", "forms_failed_answers")
    figures: dict[str, Any] = {k: tuned[k] for k in keys if k not in listed}
    figures |= {
        "forms_due_at_once": args.due,
        "forms_failed_first_try_untuned": untuned["forms_failed_first_try"],
        "forms_recorded_once_untuned": untuned["forms_recorded_once"],
        "form_post_max_s_untuned": untuned["form_post_max_s"],
        "server_lock_errors_untuned": untuned["server_lock_errors"],
    }
    if not args.skip:
        record("sqlite", figures)


if __name__ == "__main__":
    main()
