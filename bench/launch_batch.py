"""Launch plans through the CLI's code path in a process of its own, for bench/wake_cost.py:
run with the code to measure on PYTHONPATH (today's tree, or an earlier commit's). Prints
one JSON line: the launches, their wall seconds and this process's CPU-seconds for them."""

from __future__ import annotations

import json
import resource
import sys
import time


def cpu() -> float:
    """This process's CPU-seconds so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def follow_up(engine: object, app: object) -> dict[str, object]:
    """As the CLI launches, in trees that know it: the launcher alone follows the plan up."""
    by = getattr(engine, "follow_up_by", None)
    return {"followed_up_by": by(app)} if callable(by) else {}


def main() -> None:
    """argv: the case-code prefix, how many, the plan template (with {case}, {start},
    {offset}), the start and the offset."""
    prefix, count, template, start, offset = sys.argv[1:6]
    from casework.services import plan_changes  # noqa: PLC0415  # from the code under measure
    from flows.app import App  # noqa: PLC0415
    from flows.prefect.engine_client import connect  # noqa: PLC0415
    from plans.loading import load_plan  # noqa: PLC0415

    app = App()
    engine = connect(app.settings)
    cpu0, began = cpu(), time.monotonic()
    for i in range(int(count)):
        text = template.format(case=f"{prefix}-{i:05d}", start=start, offset=offset)
        plan = load_plan(f"{prefix}.yaml", app.directories, text=text)
        plan_changes.launch(
            app.store,
            app.directories,
            plan=plan,
            by="n-zdolnik",
            now=app.now(),
            approval_required=False,
            **follow_up(engine, app),
        )
        engine.start_plan(app, plan)
    seconds, cpu_s = time.monotonic() - began, cpu() - cpu0
    app.close()
    print(json.dumps({"launches": int(count), "seconds": seconds, "cpu_s": cpu_s}))


if __name__ == "__main__":
    main()
