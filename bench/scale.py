"""Benchmark: what a waiting plan costs, how wakes and launches go, beside the naive Prefect
way and DBOS, against a real Prefect server started for the run.

    .venv/bin/python bench/scale.py --database sqlite|postgresql [--plans 500] [--due 100]
                                    [--warm-up 50] [--naive-plans 40]
    .venv/bin/python bench/scale.py --database sqlite|postgresql --inprocess [--due 50]
                                    [--rounds 3]
    .venv/bin/python bench/scale.py --database sqlite|postgresql --compare-with REF
                                    [--due 50] [--rounds 3]

`--database` is both Prefect's server database and the case store. Figures are printed as a
table and merged into bench/results.json under the database's name. `--inprocess` measures
only the CPU (and Prefect database bytes) per wake of today's design beside the prototype that
executes the plan flow in the clock's process (bench/inprocess_wake.py, bench/wake_compare.py).
`--compare-with REF` measures a launch's and a wake's CPU, and launches per second, of this
tree beside commit REF's, rounds alternating (bench/wake_cost.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # after the path set-up
from sqlalchemy import create_engine, select

from bench.common import (
    ROOT,
    cpu_seconds,
    database,
    make_due,
    percentile,
    process_count,
    record,
    rss_bytes,
)
from bench.ui_check import ui_mismatches
from bench.wake_compare import backend_cpu
from casework.store.tables import AuditRow, OutboxRow
from flows.prefect import engine_client
from flows.prefect.auth import ensure_auth_string
from flows.prefect.server import server_command, server_environment
from flows.processes.up_examples import start_mail_catcher
from flows.settings import Settings
from tests.e2e.harness import basic, free_port, wait_for

PLAN = """
case: {case}
manager: n-zdolnik
start: {start}
timezone: UTC
steps:
  - id: wait
    domain: housing
    title: Wait
    partner: brest-crisis-room
    start: {offset}
    check_ins: {{every: 1d, first: 60s, remind: [60s]}}
"""
# For the wake comparison: no check-in within the hour, so one round's later wakes do not fall
# into another's window; a step with a duration, so no completion form (a decision run, a
# process of its own the same in both designs) swamps the figures.
QUIET_PLAN = PLAN.replace("first: 60s", "first: 1h").replace(
    "    start: {offset}\n", "    start: {offset}\n    duration: 30d\n"
)


def say(message: str) -> None:
    """Progress on stderr."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class Stack:
    """A Prefect server started as `rehab up` starts it (closed, with its tuning unless
    `tuned=False`), rehab's runner (and optionally the naive runner)."""

    def __init__(
        self,
        folder: Path,
        prefect_db: str | None,
        store_url: str,
        runner_limit: int,
        runner: list[str] | None = None,
        *,
        code: Path = ROOT,
        tuned: bool = True,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.runner = runner or [sys.executable, "-m", "flows.processes.serve"]
        self.tuned = tuned
        self.mail: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        settings = Settings(home=folder / "home", prefect_port=self.port, PREFECT_API_URL=None)
        self.settings = settings
        self.auth = ensure_auth_string(settings)
        self.api = engine_client.api_url(settings)
        bench = {
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
        self.server_env = server_environment(settings, tuned=tuned) | bench
        if prefect_db:
            self.server_env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_db
        self.env = dict(os.environ, **engine_client.prefect_environment(settings))
        self.env.update(
            bench,
            PREFECT_RUNNER_POLL_FREQUENCY="1",
            REHAB_HOME=str(settings.home_dir),
            REHAB_DATABASE_URL=store_url,
            REHAB_REQUIRE_APPROVAL="false",
            REHAB_CLOCK_INTERVAL="1s",
            REHAB_RUNNER_POLL="1s",
            REHAB_RUNNER_LIMIT=str(runner_limit),
            **(extra_env or {}),
        )
        self.code = code  # the tree whose runner runs (an earlier commit's, to compare)
        if code != ROOT:
            self.env["PYTHONPATH"] = str(code)
        self.folder = folder
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._csrf: dict[str, str] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            argv,
            env=env or self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.code,
            start_new_session=True,
        )

    def up(self) -> None:
        self.start_server()
        wait_for(self.healthy, timeout=180, what="the Prefect server")
        # The example partners' addresses reach no one: their mail goes to a local SMTP server
        # (rehab up --examples' catcher), so a wake's reminders are delivered, as in use, not
        # failed and retried. The catcher's own CPU is not counted: a mail server is not rehab.
        with (self.folder / "mail.log").open("a") as log:
            self.mail, catching = start_mail_catcher(self.settings, log, preexec=_nothing)
        self.env.update(catching)
        self.start("runner", self.runner)
        wait_for(
            lambda: "rehabilitation-plan" in self.deployments(), timeout=120, what="the deployments"
        )

    def start_server(self) -> None:
        """The Prefect server, as `rehab up` starts it."""
        self.start("server", server_command(self.port, tuned=self.tuned), self.server_env)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def headers(self, client: str = "rehab-bench") -> dict[str, str]:
        """What a client of the closed server sends with a change: the auth string and a CSRF
        token (asked for once per client, as the UI does)."""
        auth = {"Authorization": basic(self.auth)}
        if client not in self._csrf:
            for _ in range(10):  # a server still starting (or busy) answers 503 at first
                answer = httpx.get(
                    f"{self.api}/csrf-token", params={"client": client}, headers=auth, timeout=60
                )
                if answer.status_code != 503:
                    break
                time.sleep(1)
            answer.raise_for_status()
            self._csrf[client] = answer.json()["token"]
        return auth | {"Prefect-Csrf-Token": self._csrf[client], "Prefect-Csrf-Client": client}

    def api_post(self, path: str, body: Any) -> Any:
        """POST to the Prefect API; a busy server (SQLite locked) is asked again."""
        for attempt in range(10):
            response = httpx.post(
                f"{self.api}{path}", json=body, headers=self.headers(), timeout=60
            )
            if response.status_code < 500 or attempt == 9:
                response.raise_for_status()
                return response.json()
            time.sleep(1 + attempt)
        raise AssertionError("not reached")

    def shown(self, prefix: str, since: datetime) -> list[dict[str, Any]]:
        """The markdown artifacts of `prefix` plans updated since `since` (see `artifacts`)."""
        return artifacts(self, prefix, since)

    def deployments(self) -> set[str]:
        return {d["name"] for d in self.api_post("/deployments/filter", {})}

    def count(self, state: str, flow_name: str) -> int:
        return int(
            self.api_post(
                "/flow_runs/count",
                {
                    "flow_runs": {"state": {"type": {"any_": [state]}}},
                    "flows": {"name": {"any_": [flow_name]}},
                },
            )
        )

    def pids(self, *names: str) -> list[int]:
        return [self.processes[n].pid for n in names if n in self.processes]

    def stop(self) -> None:
        first = ("door", "naive", "runner")  # the server's clients, then the rest
        processes = sorted(self.processes.items(), key=lambda item: item[0] not in first)
        for process in [*(p for _, p in processes), self.mail]:
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _nothing() -> None:
    """No change in the mail catcher's child process before it starts."""


def rehab(stack: Stack, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flows", *args],
        env=stack.env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )


def launch_plans(
    stack: Stack,
    prefix: str,
    count: int,
    start: datetime,
    offset: str,
    *,
    template: str = PLAN,
    approval_required: bool = False,
) -> float:
    """Launch `count` plans through the CLI's code path; returns the seconds it took until all
    are parked (Suspended)."""
    from flows.app import App  # noqa: PLC0415  # needs the environment set first
    from flows.prefect.engine_client import connect  # noqa: PLC0415

    os.environ.update({k: v for k, v in stack.env.items() if k.startswith(("REHAB_", "PREFECT_"))})
    from prefect.settings import (  # noqa: PLC0415  # Prefect read its settings at import
        PREFECT_API_AUTH_STRING,
        PREFECT_API_URL,
        temporary_settings,
    )

    app = App()
    engine = connect(app.settings)
    parked_before = stack.count("PAUSED", "rehabilitation-plan")
    began = time.time()
    talking = temporary_settings({PREFECT_API_URL: stack.api, PREFECT_API_AUTH_STRING: stack.auth})
    with talking:
        launch_each(
            app,
            engine,
            template=template,
            prefix=prefix,
            count=count,
            start=start,
            offset=offset,
            approval_required=approval_required,
        )
    wait_for(
        lambda: stack.count("PAUSED", "rehabilitation-plan") >= parked_before + count,
        timeout=30 * 60,
        what=f"{count} plans to park",
        every=2,
    )
    app.close()
    return time.time() - began


def launch_each(
    app: Any,
    engine: Any,
    *,
    template: str,
    prefix: str,
    count: int,
    start: datetime,
    offset: str,
    approval_required: bool,
) -> None:
    """The launches of `launch_plans`, each as the CLI makes one."""
    from casework.services import plan_changes  # noqa: PLC0415
    from plans.loading import load_plan  # noqa: PLC0415

    for i in range(count):
        text_ = template.format(
            case=f"{prefix}-{i:05d}", start=start.strftime("%Y-%m-%dT%H:%M:%S"), offset=offset
        )
        plan = load_plan(f"{prefix}.yaml", app.directories, text=text_)
        plan_changes.launch(
            app.store,
            app.directories,
            plan=plan,
            by="n-zdolnik",
            now=app.now(),
            approval_required=approval_required,
            # As the CLI: the clock keeps off while this launcher follows the plan up; without
            # it the runner's clock and this process both made the run's first timeline row.
            followed_up_by=engine.follow_up_by(app),
        )
        engine.start_plan(app, plan)
        if (i + 1) % 50 == 0:
            say(f"  launched {i + 1}/{count}")


def settle_rss(stack: Stack, names: tuple[str, ...]) -> int:
    """Resident memory once things are quiet: the least of three readings a second apart."""
    time.sleep(10)
    readings = []
    for _ in range(3):
        readings.append(rss_bytes(stack.pids(*names)))
        time.sleep(1)
    return min(readings)


def artifacts(stack: Stack, prefix: str, since: datetime) -> list[dict[str, Any]]:
    """The markdown artifacts of the runs of `prefix` plans updated since `since` (each plan's
    one artifact is updated in place), newest first."""
    found: list[dict[str, Any]] = []
    while True:
        page = stack.api_post(
            "/artifacts/filter",
            {
                "artifacts": {
                    "key": {"like_": f"plan-{prefix.lower()}-"},
                    "type": {"any_": ["markdown"]},
                },
                "sort": "UPDATED_DESC",
                "offset": len(found),
                "limit": 200,
            },
        )
        found += page
        if len(page) < 200 or datetime.fromisoformat(page[-1]["updated"]) < since:
            return [a for a in found if datetime.fromisoformat(a["updated"]) >= since]


def measure_rehab(
    stack: Stack, plans: int, due: int, warm_up: int, store_url: str, *, prefect_db: str | None
) -> dict[str, Any]:
    names = ("server", "runner")
    far = datetime.now(UTC)
    rss_cold, procs0 = settle_rss(stack, names), process_count(stack.pids(*names))
    say(f"cold: {rss_cold / 2**20:.0f} MiB in {procs0} processes; warm-up: {warm_up} plans")
    launch_plans(stack, "WARM", warm_up, far, "365d")
    rss0 = settle_rss(stack, names)
    say(f"after warm-up: {rss0 / 2**20:.0f} MiB; launching {plans} plans")
    seconds = launch_plans(stack, "WAIT", plans, far, "365d")
    rss_n, procs_n = settle_rss(stack, names), process_count(stack.pids(*names))
    say(f"{plans} more waiting: {rss_n / 2**20:.0f} MiB in {procs_n} processes")
    # M more plans, parked far from their time; then all made due at one moment, as if they
    # had been launched with that start: their plan revision and wake time say so.
    launch_plans(stack, "DUE", due, far, "365d")
    due_at = make_due(store_url, "DUE", datetime.now(UTC) + timedelta(seconds=20))
    engine = create_engine(store_url)
    say(f"{due} plans parked, all due at {due_at:%H:%M:%S}")
    time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - 2))
    databases = [store_url, *([prefect_db] if prefect_db else [])]  # PostgreSQL's backends
    cpu0, db0 = cpu_seconds(stack.pids(*names)), backend_cpu(databases)
    step_started = select(AuditRow.at).where(
        AuditRow.action == "step-started", AuditRow.case_code.like("DUE-%")
    )

    def started() -> int:
        with engine.connect() as conn:
            return len(conn.execute(step_started).all())

    wait_for(lambda: started() >= due, timeout=15 * 60, what="the due plans to start", every=1)
    # Done when every due plan's run shows its started step to the supervisor.
    wait_for(
        lambda: len({a["key"] for a in artifacts(stack, "DUE", due_at)}) >= due,
        timeout=15 * 60,
        what="the runs to show the started steps",
        every=3,
    )
    cpu1, db1 = cpu_seconds(stack.pids(*names)), backend_cpu(databases)
    # A backend that began in between counts whole; one that ended in between is not known.
    db_cpu = sum(cpu - db0.get(pid, 0.0) for pid, cpu in db1.items())
    shown: dict[str, float] = {}
    for artifact in artifacts(stack, "DUE", due_at):
        shown[artifact["key"]] = (
            datetime.fromisoformat(artifact["updated"]) - due_at
        ).total_seconds()
    with engine.connect() as conn:
        starts = conn.execute(step_started).scalars().all()
        queued = (
            conn.execute(
                select(OutboxRow.created_at).where(
                    OutboxRow.kind == "reminder", OutboxRow.case_code.like("DUE-%")
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    checked = ui_mismatches(stack, "DUE")
    say(f"runs against the store: {checked}")
    step_delays = [(s - due_at).total_seconds() for s in starts]
    reminder_delays = [(q - due_at).total_seconds() for q in queued]
    return {
        "warm_up_plans": warm_up,
        "waiting_plans": plans,
        "rss_cold_bytes": rss_cold,
        "rss_0_bytes": rss0,
        "rss_n_bytes": rss_n,
        "processes_0": procs0,
        "processes_n": procs_n,
        "memory_per_waiting_plan_bytes": max(0, rss_n - rss0) / plans,
        "memory_per_waiting_plan_from_cold_bytes": max(0, rss_n - rss_cold) / (plans + warm_up),
        "in_process_launches_per_s": round(plans / seconds, 2),  # launches_per_s: bulk_launch.py
        "due_at_once": due,
        "step_started_p50_s": percentile(step_delays, 0.5),
        "step_started_p95_s": percentile(step_delays, 0.95),
        "step_started_max_s": round(max(step_delays), 3),
        # None: no reminder fell in the window (the first one is due with the check-in).
        "reminder_queued_p50_s": percentile(reminder_delays, 0.5) if queued else None,
        "reminder_queued_p95_s": percentile(reminder_delays, 0.95) if queued else None,
        "shown_in_ui_p50_s": percentile(list(shown.values()), 0.5),
        "shown_in_ui_p95_s": percentile(list(shown.values()), 0.95),
        "cpu_s_per_wake": round((cpu1 - cpu0 + db_cpu) / due, 3),  # with the database's
        "cpu_s_per_wake_server_runner": round((cpu1 - cpu0) / due, 3),
        "cpu_s_per_wake_database": round(db_cpu / due, 3),
        "ui_mismatches": checked["ui_mismatches"],
        "ui_checked": checked["ui_checked"],
    }


def measure_naive(stack: Stack, plans: int) -> dict[str, Any]:
    stack.start("naive", [sys.executable, str(ROOT / "bench" / "naive_flow.py")])
    wait_for(lambda: "naive-plan" in stack.deployments(), timeout=120, what="naive deployment")
    rss0 = settle_rss(stack, ("naive",))
    say(f"naive: launching {plans} runs that hold their process")
    [deployment] = [
        d["id"] for d in stack.api_post("/deployments/filter", {}) if d["name"] == "naive-plan"
    ]
    for i in range(plans):
        stack.api_post(
            f"/deployments/{deployment}/create_flow_run", {"parameters": {"case": f"NAIVE-{i}"}}
        )
    wait_for(
        lambda: stack.count("PAUSED", "naive-plan") >= plans,
        timeout=20 * 60,
        what="the naive runs to pause",
        every=2,
    )
    rss_n = settle_rss(stack, ("naive",))
    os.killpg(stack.processes["naive"].pid, signal.SIGKILL)
    return {
        "naive_plans": plans,
        "naive_memory_per_waiting_plan_bytes": max(0, rss_n - rss0) / plans,
    }


def measure_dbos(kind: str, folder: Path, plans: int, due: int) -> dict[str, Any]:
    say(f"DBOS: {plans} sleeping workflows, {due} due at once")
    with database(kind, folder, "dbos") as url:
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "dbos_waiting.py"),
                "--workflows",
                str(plans),
                "--due",
                str(due),
                "--database-url",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "dbos_memory_per_waiting_plan_bytes": data["bytes_per_waiting"],
        "dbos_cpu_s_per_wake": round(data["cpu_s_per_wake"], 4),
        "dbos_step_started_p95_s": round(data["delay_p95_s"], 3),
    }


def measure_inprocess(
    stack: Stack, store_url: str, prefect_url: str | None, due: int, rounds: int
) -> dict[str, Any]:
    """Today's wakes beside in-process wakes (bench/wake_compare.py)."""
    from bench.wake_compare import compare_wakes  # noqa: PLC0415  # only for this mode

    far = datetime.now(UTC)

    def launch(prefix: str, count: int) -> None:
        launch_plans(stack, prefix, count, far, "365d", template=QUIET_PLAN)

    def shown(prefix: str, since: datetime) -> int:
        return len({a["key"] for a in artifacts(stack, prefix, since)})

    return compare_wakes(
        stack,
        launch=launch,
        shown=shown,
        store_url=store_url,
        prefect_url=prefect_url,
        due=due,
        rounds=rounds,
        say=say,
    )


def main() -> None:
    """Run everything for one database and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--plans", type=int, default=500, help="plans launched (and measured) after the warm-up"
    )
    parser.add_argument(
        "--warm-up",
        type=int,
        default=50,
        help="plans launched first, so the server's one-off growth is not counted per plan",
    )
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument(
        "--inprocess",
        action="store_true",
        help="only CPU per wake: today's design beside the in-process prototype",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each, with --inprocess")
    parser.add_argument(
        "--naive-plans",
        type=int,
        default=40,
        help="a held process is ~90 MB: 200 of them would need ~18 GB",
    )
    parser.add_argument(
        "--runner-limit", type=int, default=8, help="flow runs the runner executes at once"
    )
    parser.add_argument(
        "--compare-with",
        metavar="REF",
        help="only a launch's and a wake's cost, this tree beside commit REF's (wake_cost.py)",
    )
    args = parser.parse_args()
    if args.compare_with:
        from bench.wake_cost import compare  # noqa: PLC0415

        figures = compare(
            Stack,
            args.compare_with,
            args.database,
            rounds=args.rounds,
            plans=args.due,
            template=PLAN,
        )
        # bench.md's quiet wake: this tree's, from the side-by-side rounds.
        figures["quiet_cpu_s_per_wake"] = figures["prefect_calls_quiet_cpu_s_per_wake_after"]
        record(args.database, figures)
        print(json.dumps({args.database: figures}, indent=2))
        return
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(args.database, Path(tmp)) as store,
        database(args.database, Path(tmp), "prefect") as prefect_db,
    ):
        prefect_url = (
            None
            if args.database == "sqlite"
            else prefect_db.replace("postgresql+psycopg", "postgresql+asyncpg")
        )
        runner = [sys.executable, str(ROOT / "bench" / "inprocess_wake.py")]
        stack = Stack(
            Path(tmp), prefect_url, store, args.runner_limit, runner if args.inprocess else None
        )
        try:
            stack.up()
            if args.inprocess:
                db = None if prefect_url is None else prefect_db
                figures = measure_inprocess(stack, store, db, args.due, args.rounds)
            else:
                on_postgresql = prefect_db if prefect_url is not None else None
                figures = measure_rehab(
                    stack, args.plans, args.due, args.warm_up, store, prefect_db=on_postgresql
                )
                figures.update(measure_naive(stack, args.naive_plans))
        finally:
            stack.stop()
        if args.inprocess:
            record(args.database, figures)
            print(json.dumps({args.database: figures}, indent=2))
            return
        figures.update(measure_dbos(args.database, Path(tmp), args.plans, args.due))
    figures["runner_limit"] = args.runner_limit
    figures["naive_to_rehab_ratio"] = round(
        figures["naive_memory_per_waiting_plan_bytes"]
        / max(1.0, figures["memory_per_waiting_plan_bytes"])
    )
    figures["dbos_to_rehab_ratio"] = round(
        figures["dbos_memory_per_waiting_plan_bytes"]
        / max(1.0, figures["memory_per_waiting_plan_bytes"]),
        1,
    )
    record(args.database, figures)
    width = max(len(k) for k in figures)
    print(f"\n{args.database}:")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
