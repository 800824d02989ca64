"""DBOS durable workflows doing what a plan does: sleep durably, then one step. Run in its own
process; prints JSON: resident memory with 0 and N sleeping workflows, and for M workflows
due at the same moment, the delay from due time to the step and the CPU spent per wake."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from dbos import DBOS

STEP_RAN: dict[str, float] = {}


@DBOS.step()
def start_step(case: str) -> None:
    """The step a wake performs."""
    STEP_RAN[case] = time.time()


@DBOS.workflow()
def plan(case: str, wake_at: float) -> None:
    """Sleep until `wake_at` (durably), then one step."""
    DBOS.sleep(max(0.0, wake_at - time.time()))
    start_step(case)


def rss() -> int:
    """This process's resident memory in bytes."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu() -> float:
    """This process's CPU seconds so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    DBOS(config={"name": "rehab-bench", "system_database_url": args.database_url})
    DBOS.launch()
    time.sleep(2)
    base = rss()
    far = time.time() + 3600
    for i in range(args.workflows):
        DBOS.start_workflow(plan, f"W{i}", far)
    time.sleep(5)
    waiting = rss()
    due_at = time.time() + 15
    for i in range(args.due):
        DBOS.start_workflow(plan, f"D{i}", due_at)
    time.sleep(max(0.0, due_at - time.time()) - 1)
    cpu_before = cpu()
    deadline = time.time() + 120
    while len(STEP_RAN) < args.due and time.time() < deadline:
        time.sleep(0.05)
    cpu_after = cpu()
    delays = sorted(t - due_at for t in STEP_RAN.values())
    print(
        json.dumps(
            {
                "rss_0": base,
                "rss_n": waiting,
                "workflows": args.workflows,
                "bytes_per_waiting": max(0, waiting - base) / args.workflows,
                "due": args.due,
                "woke": len(delays),
                "delay_p50_s": delays[len(delays) // 2] if delays else None,
                "delay_p95_s": delays[int(0.95 * (len(delays) - 1))] if delays else None,
                "cpu_s_per_wake": (cpu_after - cpu_before) / max(1, len(delays)),
            }
        )
    )
    sys.stdout.flush()
    os._exit(0)  # the sleeping workflows would keep the process alive


if __name__ == "__main__":
    main()
