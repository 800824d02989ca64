"""Benchmark: the staff's own pages at the door with thousands of living plans.

    .venv/bin/python bench/staff_pages.py --database postgresql|sqlite [--plans 3000]
                                          [--managers 30] [--requests 200]

Seeds `--plans` living plans (launched and started, so their steps are open and their
check-ins scheduled) over `--managers` case managers, three supervisors and a director, in a
fresh case store; signs each role in through the services the sign-in page calls; then asks
the door's ASGI app (in process: the server's own time, without a network) for each page, as
a browser (HTML) and as a script (JSON), `--requests` times each, round robin: her day as a
case manager, a supervisor and a director (who sees every case), and a case's page. Prints
p50 and p95 per page beside the 200 ms target, and merges them into bench/results.json under
the database's name (`staff_pages_ms_p95`: the slowest page's p95).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import yaml
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, database, median, percentile, record
from casework.services import door_access, engine, invites, plan_changes, staff_codes
from flows.app import App
from flows.door.app import COOKIE, DoorConfig, make_door
from flows.prefect.fake import RecordingPrefect
from flows.settings import Settings
from notifications.notifier import RecordingNotifier
from plans.model import Plan

TARGET_MS = 200.0
PASSWORD = "a benchmark's long password"
DOOR = "https://door.example"


def staff_file(folder: Path, managers: int) -> Path:
    """A directory of `managers` case managers, three supervisors and a director."""
    staff = {
        f"cm-{n:03d}": {"name": f"Manager {n}", "role": "case-manager"} for n in range(managers)
    }
    staff.update({f"sv-{n}": {"name": f"Supervisor {n}", "role": "supervisor"} for n in range(3)})
    staff["dir-0"] = {"name": "Director", "role": "director"}
    path = folder / "staff.yaml"
    path.write_text(yaml.safe_dump({"default_supervisor": "sv-0", "staff": staff}))
    return path


def plan(n: int, managers: int) -> Plan:
    """A living plan: a step with weekly check-ins open now, another starting later."""
    return Plan.model_validate(
        {
            "case": f"BP-{n:05d}",
            "manager": f"cm-{n % managers:03d}",
            "supervisor": f"sv-{n % 3}",
            "steps": [
                {"id": "talk", "domain": "psychological", "title": "Weekly talk",
                 "partner": "brest-psychologist",
                 "check_ins": {"every": "7d", "first": f"{1 + n % 9}d", "grace": "1d"}},
                {"id": "legal", "domain": "legal", "title": "Legal consultation",
                 "partner": "brest-legal-aid", "start": "30d"},
            ],
        }
    )  # fmt: skip


def seed(app: App, plans: int, managers: int) -> None:
    """Launch and start every plan, with progress."""
    started = time.monotonic()
    for n in range(plans):
        p = plan(n, managers)
        now = app.now()
        plan_changes.launch(
            app.store, app.directories, plan=p, by=p.manager, now=now, approval_required=False
        )
        engine.reconcile(app.store, code=p.case, now=now, directories=app.directories)
        if (n + 1) % 250 == 0 or n + 1 == plans:
            rate = (n + 1) / (time.monotonic() - started)
            print(f"  seeded {n + 1}/{plans} plans ({rate:.0f}/s)", file=sys.stderr, flush=True)


def signed_in(app: App, staff: str) -> str:
    """Her session token, as the sign-in page gets it."""
    store, directories, now = app.store, app.directories, app.now()
    totp = pyotp.parse_uri(staff_codes.enrol(store, directories, staff=staff, now=now))
    invite = invites.invite(store, directories, staff=staff, now=now)
    invites.set_password(store, token=invite, password=PASSWORD, now=now)
    token, _ = door_access.sign_in(
        store, directories, staff=staff, password=PASSWORD, code=totp.at(now), now=now
    )
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--plans", type=int, default=3000)
    parser.add_argument("--managers", type=int, default=30)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.database, Path(tmp)) as url:
        folder = Path(tmp)
        settings = Settings(
            home=folder / "home",
            public_url=DOOR,
            database_url=url,
            staff_file=staff_file(folder, args.managers),
            partners_file=ROOT / "plans" / "examples" / "partners.yaml",
        )
        now = datetime.now(UTC)
        app = App(settings, prefect=RecordingPrefect(), notifier=RecordingNotifier(),
                  clock=lambda: now)  # fmt: skip
        print(f"seeding {args.plans} living plans on {args.database}", file=sys.stderr)
        seed(app, args.plans, args.managers)
        now += timedelta(minutes=1)
        config = DoorConfig(prefect_url="http://127.0.0.1:9", auth_string=None, public_url=DOOR)
        door = make_door(app, config)
        pages = {
            "day_case_manager": ("cm-001", "/rehab/day"),
            "day_supervisor": ("sv-1", "/rehab/day"),
            "day_director": ("dir-0", "/rehab/day"),
            "case_page": ("cm-001", "/rehab/cases/BP-00001"),
        }
        clients: dict[str, TestClient] = {}
        for staff in {who for who, _ in pages.values()}:
            clients[staff] = TestClient(door, base_url=DOOR)
            clients[staff].cookies.set(COOKIE, signed_in(app, staff))
        timings: dict[str, list[float]] = {f"{p}_{k}": [] for p in pages for k in ("html", "json")}
        for round_ in range(args.requests + 5):
            for page, (staff, path) in pages.items():
                for kind, accept in (("html", "text/html"), ("json", "application/json")):
                    began = time.perf_counter()
                    answer = clients[staff].get(path, headers={"accept": accept})
                    spent = (time.perf_counter() - began) * 1000
                    if answer.status_code != 200:
                        raise SystemExit(f"{path} as {staff}: {answer.status_code} {answer.text}")
                    if round_ >= 5:  # the first few warm the caches
                        timings[f"{page}_{kind}"].append(spent)
        day = clients["dir-0"].get("/rehab/day", headers={"accept": "application/json"}).json()
        app.close()
    print(f"\n{args.plans} living plans, {args.database}; the director's day lists "
          f"{day['cases']} cases, {len(day['check_ins_week'])} check-ins this week\n")  # fmt: skip
    print(f"{'page':<28}{'p50 ms':>10}{'p95 ms':>10}{'target':>10}")
    figures: dict[str, float] = {}
    for name, values in timings.items():
        p50, p95 = median(values), percentile(values, 0.95)
        figures[f"staff_pages_{name}_ms_p50"] = round(p50, 1)
        figures[f"staff_pages_{name}_ms_p95"] = round(p95, 1)
        verdict = "ok" if p95 <= TARGET_MS else "SLOW"
        print(f"{name:<28}{p50:>10.1f}{p95:>10.1f}{TARGET_MS:>9.0f} {verdict}")
    slowest = max(v for k, v in figures.items() if k.endswith("_p95"))
    figures["staff_pages_ms_p95"] = slowest
    figures["staff_pages_plans"] = args.plans
    print(f"\nslowest page p95: {slowest:.1f} ms (target {TARGET_MS:.0f} ms)")
    record(args.database, figures)


if __name__ == "__main__":
    main()
