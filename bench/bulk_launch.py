"""Benchmark: `rehab plan launch FILE...` over many plans in one process, beside one `rehab plan
launch FILE` process per plan, against a real Prefect server and runner started as `rehab up`
starts them (bench/scale.py's Stack), each round on a fresh server and databases.

    .venv/bin/python bench/bulk_launch.py --database sqlite|postgresql [--plans 500]
                                          [--single 20] [--rounds 3]

A round launches `--single` plans one process each, first each done in its own process
(REHAB_ENGINE_SOCKET=off, as before the engine's socket), then as the operator's command does
it now (by the running engine), then `--plans` plans in one process, the same two ways; each
is timed from the first process's start to the last one's exit (every run created and parked
by then). Medians of the rounds are printed side by side and merged into bench/results.json
under the database's name: `launches_per_s`, `launches_per_s_own_process`,
`bulk_launches_per_s`, the bulk's ratio to the first, and the CPU seconds per launch of the
server, the runner and the launching processes together (`cpu_s_per_launch`,
`cpu_s_per_launch_own_process`, `bulk_cpu_s_per_launch`; `_own_process`: done in the
launching process), the server's CPU seconds of a launch one process a plan
(`server_cpu_s_per_launch`), and a bulk launch's server and runner CPU seconds apart
(`bulk_server_cpu_s_per_launch`, `bulk_runner_cpu_s_per_launch`: one core is 1 / the
launches a second; the server is one process)."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, cpu_seconds, database, record  # after the path set-up
from bench.scale import PLAN, Stack, say
from tests.e2e.harness import wait_for


def write_plans(folder: Path, prefix: str, count: int) -> list[str]:
    """`count` plan files, parked a year from their start (nothing due during the run)."""
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    files = []
    for i in range(count):
        file = folder / f"{prefix}-{i:05d}.yaml"
        file.write_text(PLAN.format(case=f"{prefix}-{i:05d}", start=start, offset="365d"))
        files.append(str(file))
    return files


def launch(
    stack: Stack, files: list[str], profile: str | None = None, *, served: bool = True
) -> None:
    """`rehab plan launch FILES...` as the operator runs it (under cProfile, writing to
    `profile`, if given): done by the running engine, or (`served` False) in its own process
    as before the engine's socket; every plan must be launched."""
    profiled = ["-m", "cProfile", "-o", profile] if profile else []
    env = stack.env if served else stack.env | {"REHAB_ENGINE_SOCKET": "off"}
    done = subprocess.run(
        [sys.executable, *profiled, "-m", "flows", "plan", "launch", *files, "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"launch failed ({done.returncode}): {done.stderr[-2000:]}")


def one_round(
    kind: str, *, plans: int, single: int, profile: str | None = None
) -> dict[str, float]:
    """A fresh server and runner; `single` launches one process each, then `plans` in one."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(kind, Path(tmp)) as store,
        database(kind, Path(tmp), "prefect") as prefect_db,
    ):
        url = None if kind == "sqlite" else prefect_db.replace("+psycopg", "+asyncpg")
        stack = Stack(Path(tmp), url, store, 8)
        try:
            stack.up()
            launch(stack, write_plans(Path(tmp) / "warm", "WARM", 5))  # the server's first calls
            parked = stack.count("PAUSED", "rehabilitation-plan")
            names = ("server", "runner")

            apart: dict[str, float] = {}

            def phase(files: list[list[str]], **how: Any) -> tuple[float, float]:
                """Wall seconds, and CPU seconds of the server, runner and launchers (the
                server's and the runner's apart in `apart`)."""
                each0 = {n: cpu_seconds(stack.pids(n)) for n in names}
                mine0 = launchers_cpu()
                began = time.monotonic()
                for each in files:
                    launch(stack, each, **how)
                wall = time.monotonic() - began
                apart.clear()
                apart.update({n: cpu_seconds(stack.pids(n)) - each0[n] for n in names})
                return wall, sum(apart.values()) + launchers_cpu() - mine0

            own = write_plans(Path(tmp) / "own", "OWN", single)
            own_s, own_cpu = phase([[f] for f in own], served=False)
            one = write_plans(Path(tmp) / "one", "ONE", single)
            one_s, one_cpu = phase([[f] for f in one])
            one_server = apart["server"]
            bulk_own = write_plans(Path(tmp) / "bulk-own", "BOWN", plans)
            bulk_own_s, bulk_own_cpu = phase([bulk_own], served=False)
            bulk = write_plans(Path(tmp) / "bulk", "BULK", plans)
            # Profiled, the bulk launch runs in its own process (a profile of it, not of the
            # client).
            bulk_s, bulk_cpu = phase([bulk], profile=profile, served=profile is None)
            bulk_server, bulk_runner = apart["server"], apart["runner"]
            every = parked + 2 * (single + plans)
            wait_for(
                lambda: stack.count("PAUSED", "rehabilitation-plan") >= every,
                timeout=600,
                what="every run parked",
                every=2,
            )
        finally:
            stack.stop()
    return {
        "launches_per_s": single / one_s,
        "launches_per_s_own_process": single / own_s,
        "bulk_launches_per_s": plans / bulk_s,
        "cpu_s_per_launch": one_cpu / single,
        "cpu_s_per_launch_own_process": own_cpu / single,
        "server_cpu_s_per_launch": one_server / single,
        "bulk_cpu_s_per_launch": bulk_cpu / plans,
        "bulk_server_cpu_s_per_launch": bulk_server / plans,
        "bulk_runner_cpu_s_per_launch": bulk_runner / plans,
        "bulk_launches_per_s_own_process": plans / bulk_own_s,
        "bulk_cpu_s_per_launch_own_process": bulk_own_cpu / plans,
    }


def launchers_cpu() -> float:
    """CPU seconds of this process's finished children: the `rehab plan launch` processes."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> None:
    """Run the rounds for one database and print the medians side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--plans", type=int, default=500, help="plans in the one bulk process")
    parser.add_argument("--single", type=int, default=20, help="plans launched one process each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--profile",
        help="write the bulk launch's cProfile here (last round's; the launch then runs in "
        "its own process, not the engine's)",
    )
    args = parser.parse_args()
    rounds: list[dict[str, float]] = []
    for n in range(args.rounds):
        say(f"round {n + 1}/{args.rounds} on {args.database}")
        rounds.append(
            one_round(args.database, plans=args.plans, single=args.single, profile=args.profile)
        )
        say(f"  {json.dumps({k: round(v, 3) for k, v in rounds[-1].items()})}")
    figures: dict[str, Any] = {
        key: round(statistics.median(r[key] for r in rounds), 3) for key in rounds[0]
    }
    figures["bulk_launch_ratio"] = round(
        figures["bulk_launches_per_s"] / figures["launches_per_s"], 2
    )
    figures["bulk_launch_plans"], figures["bulk_launch_rounds"] = args.plans, args.rounds
    figures["single_launch_plans"] = args.single
    record(args.database, figures)
    print(f"\n{args.database} (median of {args.rounds} rounds):")
    print(f"  one process per plan ({args.single}):  {figures['launches_per_s']} launches/s")
    print(
        f"    the same, each in its own process (no engine socket): "
        f"{figures['launches_per_s_own_process']} launches/s"
    )
    print(f"  one process, {args.plans} plans:     {figures['bulk_launches_per_s']} launches/s")
    print(
        "  CPU-s per launch (server, runner and the launching processes): "
        f"{figures['cpu_s_per_launch']} one per process by the engine, "
        f"{figures['cpu_s_per_launch_own_process']} each in its own process, "
        f"{figures['bulk_cpu_s_per_launch']} in bulk"
    )
    print(
        f"  one process, {args.plans} plans, in its own process (no engine socket): "
        f"{figures['bulk_launches_per_s_own_process']} launches/s, "
        f"{figures['bulk_cpu_s_per_launch_own_process']} CPU-s per launch"
    )
    print(
        f"  of a bulk launch's CPU-s: server {figures['bulk_server_cpu_s_per_launch']}, "
        f"runner {figures['bulk_runner_cpu_s_per_launch']} (a core each at "
        f"{1 / max(figures['bulk_server_cpu_s_per_launch'], 1e-9):.0f} and "
        f"{1 / max(figures['bulk_runner_cpu_s_per_launch'], 1e-9):.0f} launches a second)"
    )
    print(f"  ratio:                          {figures['bulk_launch_ratio']} x")


if __name__ == "__main__":
    main()
