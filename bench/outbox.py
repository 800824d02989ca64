"""Benchmark: queue N messages (default 10,000) and deliver them through apprise to a local
SMTP server; print messages per second and the p50/p95 delay from due time to delivery.

    .venv/bin/python bench/outbox.py [--messages 10000] [--database-url URL] [--links]
        [--workers 8] [--compare-with REF [--rounds 3]]

With `--links`, the same burst is sent twice, without and with partners' answer links (each
reminder then carries three signed links), and the two rates are printed side by side.

With `--compare-with REF` (a git commit, e.g. `main`), the benchmark of that commit (taken
out with `git archive` into a temporary directory) and this one run in turn, `--rounds`
times each, in fresh processes; each run's rate, the medians and their ratio are printed, and
the figures written are this tree's median run, with the other's beside them.

All messages fall due at the same moment (the worst case: a burst), so the delay of the
k-th message is its wait in the queue. The SMTP server (aiosmtpd, counting every message
it receives) runs in a process of its own on the same machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casework.services import engine, plan_changes  # noqa: E402  # after the path set-up above
from casework.store.db import open_store  # noqa: E402
from casework.store.tables import OutboxRow  # noqa: E402
from notifications.links import PartnerLinks  # noqa: E402
from notifications.notifier import AppriseNotifier, Delivery  # noqa: E402
from notifications.outbox import Policy, send_due  # noqa: E402
from plans.directories import Directories, PartnerDirectory, StaffDirectory  # noqa: E402
from plans.model import Plan  # noqa: E402


def smtp_sink(port: int, ready: Any, count: Any) -> None:
    """An SMTP server that counts what it receives."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415  # in the child process only

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's hook
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


class TimingNotifier:
    """Apprise, noting when each message was delivered."""

    def __init__(self) -> None:
        self.inner = AppriseNotifier(throttle=0)
        self.delivered_at: list[float] = []

    def batch(self) -> Any:
        return self.inner.batch()

    def send(self, urls: list[str], subject: str, body: str) -> Delivery:
        delivery = self.inner.send(urls, subject, body)
        if delivery.delivered:
            self.delivered_at.append(time.time())
        return delivery


def build(url: str, key: Path, port: int, messages: int) -> tuple[Any, Directories, datetime]:
    """A store with cases whose steps are open, and `messages` reminders queued, all due now."""
    mail = (
        f"mailto://127.0.0.1:{port}?to=intake@clinic.example&from=rehab@ngo.example&mode=insecure"
    )
    dirs = Directories(
        PartnerDirectory.model_validate(
            {
                "partners": {
                    "clinic": {
                        "name": "Clinic",
                        "kind": "healthcare",
                        "region": "Brest",
                        "language": "ru",
                        "notify": [mail],
                    }
                }
            }
        ),
        StaffDirectory.model_validate(
            {
                "default_supervisor": "boss",
                "staff": {
                    "cm": {"name": "CM", "role": "case-manager"},
                    "boss": {"name": "Boss", "role": "supervisor"},
                },
            }
        ),
    )
    store = open_store(url, key)
    t0 = datetime.now(UTC)
    cases = max(1, messages // 50)
    per_case = -(-messages // cases)
    for i in range(cases):
        plan = Plan.model_validate(
            {
                "case": f"BENCH-{i:05d}",
                "manager": "cm",
                "steps": [
                    {
                        "id": "check",
                        "domain": "medical",
                        "title": "Check",
                        "partner": "clinic",
                        "check_ins": {"every": "1d", "remind": ["1h"]},
                    }
                ],
            }
        )
        plan_changes.launch(
            store, dirs, plan=plan, by="cm", now=t0 - timedelta(days=1), approval_required=False
        )
        engine.reconcile(store, code=plan.case, now=t0 - timedelta(days=1))
    with store.session() as session:  # the referrals the launches queued are already "sent"
        session.query(OutboxRow).update({"status": "sent"})
        rows = [
            dict(
                key=f"BENCH-{i // per_case:05d}|check|reminder|{100 + i % per_case}@3600s"
                f"|partner:clinic",
                case_code=f"BENCH-{i // per_case:05d}",
                step_id="check",
                kind="reminder",
                occurrence=f"{100 + i % per_case}@3600s",
                recipient="partner:clinic",
                due_at=t0,
                status="pending",
                attempts=0,
                next_attempt_at=t0,
                created_at=t0,
            )
            for i in range(messages)
        ]
        for start in range(0, len(rows), 1000):
            session.execute(insert(OutboxRow), rows[start : start + 1000])
    return store, dirs, t0


def run(
    url: str, messages: int, port: int, *, links: bool = False, workers: int = Policy().workers
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        store, dirs, t0 = build(url.format(tmp=tmp), Path(tmp) / "key", port, messages)
        notifier = TimingNotifier()
        signed = PartnerLinks("https://door.example", store.links.secret()) if links else None
        start, cpu = time.time(), time.process_time()
        due = t0.timestamp()
        while True:
            done = send_due(
                store,
                dirs,
                notifier,
                now=datetime.now(UTC),
                policy=Policy(batch=500, workers=workers),
                links=signed,
            )
            sent = len(notifier.delivered_at)
            print(
                f"  delivered {sent:>6} / {messages}  ({time.time() - start:6.1f} s)",
                file=sys.stderr,
            )
            if not done:
                break
        elapsed, cpu = time.time() - start, time.process_time() - cpu
        store.dispose()
    delays = sorted(t - due for t in notifier.delivered_at)
    return {
        "messages": messages,
        "delivered": len(delays),
        "seconds": round(elapsed, 2),
        "messages_per_s": round(len(delays) / elapsed, 1),
        "delay_p50_s": round(statistics.median(delays), 2),
        "delay_p95_s": round(delays[int(0.95 * (len(delays) - 1))], 2),
        "sender_cpu_ms_per_message": round(1000 * cpu / messages, 2),
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default="sqlite:///{tmp}/cases.db")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "outbox-results.json")
    parser.add_argument("--links", action="store_true", help="also send with answer links")
    parser.add_argument("--workers", type=int, default=Policy().workers, help="sending threads")
    parser.add_argument("--compare-with", metavar="REF", help="a commit to run side by side")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, with --compare-with")
    args = parser.parse_args()
    if args.compare_with:
        compare(args)
        return
    from tests.e2e.harness import free_port  # noqa: PLC0415  # the test helpers are dev-only

    port = free_port()
    ready, count = multiprocessing.Event(), multiprocessing.Value("i", 0)
    sink = multiprocessing.Process(target=smtp_sink, args=(port, ready, count), daemon=True)
    sink.start()
    ready.wait(30)
    try:
        result = run(args.database_url, args.messages, port, workers=args.workers)
        linked = (
            run(args.database_url, args.messages, port, links=True, workers=args.workers)
            if args.links
            else None
        )
    finally:
        sink.terminate()
    result["received_by_smtp"] = count.value
    print("\nmessages  delivered  received  seconds  msg/s   p50 delay  p95 delay")
    print(
        f"{result['messages']:>8}  {result['delivered']:>9}  {result['received_by_smtp']:>8}  "
        f"{result['seconds']:>7}  {result['messages_per_s']:>5}  {result['delay_p50_s']:>8} s"
        f"  {result['delay_p95_s']:>8} s"
    )
    if linked is not None:
        ratio = round(linked["messages_per_s"] / result["messages_per_s"], 2)
        result["with_links_messages_per_s"] = linked["messages_per_s"]
        print(
            f"\nwithout links {result['messages_per_s']} msg/s, with links "
            f"{linked['messages_per_s']} msg/s: ratio {ratio}"
        )
    args.output.write_text(json.dumps(result, indent=2) + "\n")


def compare(args: argparse.Namespace) -> None:
    """Run REF's benchmark and this one's in turn, in fresh processes; print them side by side."""
    with tempfile.TemporaryDirectory() as tmp:
        before_tree = Path(tmp) / "before"
        before_tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.compare_with],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(before_tree)], input=archive, check=True)
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for n in range(args.rounds):
            for which, tree in (("before", before_tree), ("after", ROOT)):
                out = Path(tmp) / f"{which}-{n}.json"
                command = [sys.executable, str(tree / "bench" / "outbox.py")]
                command += ["--messages", str(args.messages), "--database-url", args.database_url]
                command += ["--output", str(out)]
                if which == "after":
                    command += ["--workers", str(args.workers)]
                env = {**os.environ, "PYTHONPATH": str(tree)}
                subprocess.run(command, check=True, cwd=tree, env=env, stderr=subprocess.DEVNULL)
                runs[which].append(json.loads(out.read_text()))
                figures = runs[which][-1]
                print(f"round {n + 1} {which:>6}: {figures['messages_per_s']:>6} msg/s", flush=True)
    median = {w: statistics.median(r["messages_per_s"] for r in runs[w]) for w in runs}
    ratio = round(median["after"] / median["before"], 2)
    print(f"\n{args.compare_with}: {[r['messages_per_s'] for r in runs['before']]} msg/s")
    print(f"this tree: {[r['messages_per_s'] for r in runs['after']]} msg/s")
    print(f"medians {median['before']} and {median['after']} msg/s: ratio {ratio}")
    after = sorted(runs["after"], key=lambda r: r["messages_per_s"])[len(runs["after"]) // 2]
    after["compared_with"] = {
        "ref": args.compare_with,
        "runs_messages_per_s": [r["messages_per_s"] for r in runs["before"]],
        "median_messages_per_s": median["before"],
        "this_tree_runs_messages_per_s": [r["messages_per_s"] for r in runs["after"]],
        "ratio_of_medians": ratio,
    }
    args.output.write_text(json.dumps(after, indent=2) + "\n")


if __name__ == "__main__":
    main()
