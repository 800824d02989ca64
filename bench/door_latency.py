"""Benchmark: one door for people. Signed-in sessions read the runs list through the door while
100 plans wake at once; what the door adds to each API call, beside calling Prefect directly.

    .venv/bin/python bench/door_latency.py --database sqlite|postgresql [--sessions 50]
                                           [--due 100] [--seconds 60] [--think 2] [--quiet 20]

`--database` is both Prefect's server database and the case store (as bench/scale.py). The
stack is bench/scale.py's (Prefect's server as `rehab up` starts it, rehab's runner) with the
door, `python -m flows.door`, in front of it on a free port.

Sessions are made through the real sign-in, one staff member each: a generated staff
directory of `--sessions` case managers, each enrolled (authenticator and invite, as `rehab
staff enrol` makes them), her password set through her invite page, then signed in at
/sign-in with her password and her own code (each has her own secret, so one code each, all
in the same 30 s step). Each session then fetches a CSRF token through the door, as Prefect's
UI does, and the direct side one of its own with the auth string.

First for `--quiet` s with the plans parked, then during the storm (from the moment `--due`
plans are all due, for `--seconds`), each session repeats, after a think time of `--think` s
(±50 %), alternately `POST /api/flow_runs/filter` (a small body: the 10 latest runs) and
`GET /api/flow_runs/ID` (one of the waking plans' runs), each sent twice, one right after
the other: through the door with her session cookie and straight to Prefect with the auth
string, which goes first alternating, so both see the same moment. Every non-2xx answer and
every exception, on either side, is a failed request: all are printed, and any through the
door fails the run (exit status 1) after the figures are recorded.

Figures (the storm's under `door_*`, the quiet phase's under `door_quiet_*`; the failures of
both; the 1-minute load average at the storm's end): p50 and p95 of each side, the door's
added latency as the difference of those percentiles (`door_added_ms_p50`,
`door_added_ms_p95`) and as the p50 and p95 of the paired differences (each read's door
latency minus its direct twin's); printed as a table and merged into bench/results.json under
the database's name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # after the path set-up
from sqlalchemy import create_engine, func, select

from bench.common import database, make_due, percentile, record
from bench.door import enrol, sign_in, start_door, ui_csrf
from bench.scale import Stack, launch_plans, say
from casework.store.tables import AuditRow
from tests.e2e.harness import wait_for

STAFF = """
default_supervisor: l-istomova
staff:
  n-zdolnik: {{name: Example case manager, role: case-manager}}
  l-istomova: {{name: Example supervisor, role: supervisor}}
{members}
"""
FILTER = {"limit": 10, "offset": 0, "sort": "START_TIME_DESC"}  # the runs list's first page


def member(i: int) -> str:
    return f"s-{i:03d}"


@dataclass
class Tally:
    """What all sessions saw: latencies (ms) by side and kind, the pairs, the failures."""

    ms: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    pairs: list[float] = field(default_factory=list)  # door minus direct, same request
    requests: dict[str, int] = field(default_factory=lambda: {"door": 0, "direct": 0})
    failures: list[str] = field(default_factory=list)

    def side(self, via: str) -> list[float]:
        return [v for (side, _), values in self.ms.items() if side == via for v in values]


@dataclass
class Session:
    """One signed-in person's browser (the door) and the same reads sent straight to Prefect."""

    who: str
    door: httpx.AsyncClient
    door_headers: dict[str, str]
    direct: httpx.AsyncClient
    direct_headers: dict[str, str]

    async def call(self, via: str, kind: str, run_id: str, tally: Tally) -> float | None:
        """One request; its latency in ms, or None (recorded as a failure)."""
        client, headers = (
            (self.door, self.door_headers) if via == "door" else (self.direct, self.direct_headers)
        )
        path = "/api/flow_runs/filter" if kind == "filter" else f"/api/flow_runs/{run_id}"
        tally.requests[via] += 1
        began = time.perf_counter()
        try:
            if kind == "filter":
                response = await client.post(path, json=FILTER, headers=headers)
            else:
                response = await client.get(path, headers=headers)
        except httpx.HTTPError as exc:
            tally.failures.append(f"{via} {kind} {path}: {type(exc).__name__} {exc}"[:300])
            return None
        ms = (time.perf_counter() - began) * 1000
        if not response.is_success:
            tally.failures.append(
                f"{via} {kind} {path}: {response.status_code} {response.text[:200]}"
            )
            return None
        tally.ms.setdefault((via, kind), []).append(ms)
        return ms

    async def run(self, n: int, runs: list[str], until: float, think: float, tally: Tally) -> None:
        """Read until `until` (time.time()), each read through the door and directly."""
        rng = random.Random(n)
        await asyncio.sleep(rng.uniform(0, think))  # the sessions' first reads spread out
        i = 0
        while time.time() < until:
            kind = "filter" if (i + n) % 2 == 0 else "get"
            order = ("door", "direct") if (i // 2 + n) % 2 == 0 else ("direct", "door")
            run_id = runs[(i + n) % len(runs)]
            took = {via: await self.call(via, kind, run_id, tally) for via in order}
            if took["door"] is not None and took["direct"] is not None:
                tally.pairs.append(took["door"] - took["direct"])
            i += 1
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))


async def storm(
    sessions: list[Session], runs: list[str], start: float, seconds: float, think: float
) -> Tally:
    """All sessions reading from `start` for `seconds`."""
    tally = Tally()
    await asyncio.sleep(max(0.0, start - time.time()))
    until = start + seconds
    await asyncio.wait_for(
        asyncio.gather(*(s.run(n, runs, until, think, tally) for n, s in enumerate(sessions))),
        timeout=seconds + 300,
    )
    return tally


def open_sessions(stack: Stack, door: str, count: int) -> list[Session]:
    """`count` staff signed in at the door, each with her CSRF token fetched through it, and
    the direct side's own token fetched with the auth string."""
    staff = [member(i) for i in range(count)]
    enrolled = enrol(stack, staff)
    sessions = []
    for who in staff:
        browser = sign_in(door, who, *enrolled[who])
        door_headers = ui_csrf(browser, f"ui-{who}")
        cookies = httpx.Cookies(browser.cookies)
        browser.close()
        direct_headers = stack.headers(client=f"direct-{who}")
        sessions.append(
            Session(
                who,
                httpx.AsyncClient(base_url=door, cookies=cookies, timeout=60),
                door_headers,
                httpx.AsyncClient(base_url=stack.api.removesuffix("/api"), timeout=60),
                direct_headers,
            )
        )
    return sessions


def plan_runs(stack: Stack, prefix: str) -> list[str]:
    """The ids of the `prefix` plans' runs."""
    found = stack.api_post(
        "/flow_runs/filter",
        {"flows": {"name": {"any_": ["rehabilitation-plan"]}}, "limit": 200},
    )
    return [r["id"] for r in found if r["name"].startswith(f"{prefix}-")]


def measure(
    stack: Stack, store: str, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Tally]]:
    """Sign the sessions in, park the plans; read while all is quiet, then make the plans due
    at once and read through the storm."""
    door = start_door(stack)
    say(f"door at {door}; signing in {args.sessions} staff")
    sessions = open_sessions(stack, door, args.sessions)
    far = datetime.now(UTC)
    launch_plans(stack, "DUE", args.due, far, "365d")
    runs = plan_runs(stack, "DUE")
    loads: list[float] = []

    async def go() -> dict[str, Tally]:
        try:
            say(f"quiet: {args.sessions} sessions read for {args.quiet:.0f} s")
            quiet = await storm(sessions, runs, time.time(), args.quiet, args.think)
            due_at = make_due(store, "DUE", datetime.now(UTC) + timedelta(seconds=20))
            say(f"{args.due} plans due at {due_at:%H:%M:%S}; the sessions read from then")
            busy = await storm(sessions, runs, due_at.timestamp(), args.seconds, args.think)
            loads.append(os.getloadavg()[0])
            return {"quiet": quiet, "storm": busy}
        finally:
            for s in sessions:
                await s.door.aclose()
                await s.direct.aclose()

    tallies = asyncio.run(go())
    engine = create_engine(store)
    started_query = select(func.count()).where(
        AuditRow.action == "step-started", AuditRow.case_code.like("DUE-%")
    )

    def started() -> int:
        with engine.connect() as conn:
            return int(conn.execute(started_query).scalar_one())

    in_window = started()
    wait_for(lambda: started() >= args.due, timeout=15 * 60, what="the due plans to start", every=2)
    engine.dispose()
    say(f"{in_window} of {args.due} due plans started within the window")
    failures = [f for tally in tallies.values() for f in tally.failures]
    figures: dict[str, Any] = {
        "door_sessions": args.sessions,
        "door_due_at_once": args.due,
        "door_due_started_in_window": in_window,
        "door_window_s": args.seconds,
        "door_think_s": args.think,
        "door_load_avg_1m": round(loads[0], 2),
        "door_requests": sum(tally.requests["door"] for tally in tallies.values()),
        "door_failed_requests": sum(f.startswith("door ") for f in failures),
        "door_direct_failed_requests": sum(f.startswith("direct ") for f in failures),
    }
    figures |= latencies(tallies["storm"], "door")
    figures |= latencies(tallies["quiet"], "door_quiet")
    return figures, tallies


def latencies(tally: Tally, prefix: str) -> dict[str, float]:
    """p50 and p95 through the door and directly, and what the door adds."""
    door_ms, direct_ms = tally.side("door"), tally.side("direct")
    if not door_ms or not direct_ms or not tally.pairs:
        raise AssertionError(f"no request answered: {tally.failures[:5]}")
    d50, d95 = percentile(door_ms, 0.5), percentile(door_ms, 0.95)
    p50, p95 = percentile(direct_ms, 0.5), percentile(direct_ms, 0.95)
    return {
        f"{prefix}_ms_p50": d50,
        f"{prefix}_ms_p95": d95,
        f"{prefix}_direct_ms_p50": p50,
        f"{prefix}_direct_ms_p95": p95,
        f"{prefix}_added_ms_p50": round(d50 - p50, 3),
        f"{prefix}_added_ms_p95": round(d95 - p95, 3),
        f"{prefix}_added_ms_paired_p50": round(statistics.median(tally.pairs), 3),
        f"{prefix}_added_ms_paired_p95": percentile(tally.pairs, 0.95),
    }


def table(kind: str, figures: dict[str, Any], tallies: dict[str, Tally]) -> None:
    """The figures, and each kind of request side by side, quiet and in the storm."""
    print(
        f"\n{kind}: {figures['door_sessions']} signed-in sessions reading, quiet and while "
        f"{figures['door_due_at_once']} plans wake at once (ms)"
    )
    print(
        f"  {'request':<30} {'n':>6} {'door p50':>9} {'door p95':>9} "
        f"{'direct p50':>11} {'direct p95':>11} {'added p50':>10} {'added p95':>10}"
    )
    for phase, tally in tallies.items():
        for name in ("filter", "get"):
            door, direct = tally.ms.get(("door", name), []), tally.ms.get(("direct", name), [])
            if not door or not direct:
                continue
            label = f"{phase}: " + ("POST flow_runs/filter" if name == "filter" else "GET run")
            d50, d95 = percentile(door, 0.5), percentile(door, 0.95)
            p50, p95 = percentile(direct, 0.5), percentile(direct, 0.95)
            print(
                f"  {label:<30} {len(door):>6} {d50:>9.1f} {d95:>9.1f} {p50:>11.1f} "
                f"{p95:>11.1f} {d50 - p50:>10.1f} {d95 - p95:>10.1f}"
            )
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    for tally in tallies.values():
        for failure in tally.failures:
            print(f"  FAILED {failure}")


def main() -> None:
    """One stack on the chosen database; print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sessions", type=int, default=50, help="signed-in staff reading")
    parser.add_argument("--due", type=int, default=100, help="plans that wake at one moment")
    parser.add_argument("--seconds", type=float, default=60, help="how long the sessions read")
    parser.add_argument("--think", type=float, default=2, help="a session's pause between reads")
    parser.add_argument(
        "--quiet", type=float, default=20, help="seconds of reading before the plans are due"
    )
    parser.add_argument("--runner-limit", type=int, default=8)
    parser.add_argument("--no-record", action="store_true", help="print only (a trial run)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="rehab-door-") as tmp,
        database(args.database, Path(tmp)) as store,
        database(args.database, Path(tmp), "prefect") as prefect_db,
    ):
        folder = Path(tmp)
        staff_file = folder / "staff.yaml"
        staff_file.write_text(
            STAFF.format(
                members="\n".join(
                    f"  {member(i)}: {{name: Example case manager, role: case-manager}}"
                    for i in range(args.sessions)
                )
            )
        )
        prefect_url = (
            None
            if args.database == "sqlite"
            else prefect_db.replace("postgresql+psycopg", "postgresql+asyncpg")
        )
        stack = Stack(
            folder,
            prefect_url,
            store,
            args.runner_limit,
            extra_env={"REHAB_STAFF_FILE": str(staff_file)},
        )
        try:
            stack.up()
            figures, tallies = measure(stack, store, args)
        finally:
            stack.stop()
    table(args.database, figures, tallies)
    if not args.no_record:
        record(args.database, figures)
    if figures["door_failed_requests"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
