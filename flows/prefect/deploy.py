"""Register the plan and decision deployments on a Prefect work pool, for installations whose
flow runs are executed by Prefect workers (`prefect worker start --pool NAME`) instead of
rehab's own runner. The clock then runs alone: `python -m flows.processes.serve --clock-only`.

    python -m flows.prefect.deploy --work-pool rehab
"""

from __future__ import annotations

import argparse

from prefect.types.entrypoint import EntrypointType

from flows.decision_flow import decision
from flows.plan_flow import rehabilitation_plan

DESCRIPTIONS = {
    "rehabilitation-plan": "One run per plan, alive for the plan's life.",
    "decision": "One run per decision waiting on a person.",
}


def main() -> None:
    """Deploy both flows to the named work pool; workers import them by module path, so the
    project must be installed (or on PYTHONPATH) where the workers run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-pool", required=True, help="an existing Prefect work pool")
    args = parser.parse_args()
    for flow, name in ((rehabilitation_plan, "rehabilitation-plan"), (decision, "decision")):
        flow.deploy(
            name=name,
            work_pool_name=args.work_pool,
            description=DESCRIPTIONS[name],
            tags=["rehab"],
            entrypoint_type=EntrypointType.MODULE_PATH,
            build=False,
            push=False,
            print_next_steps=False,
        )
        print(f"deployed {name} to work pool {args.work_pool}")


if __name__ == "__main__":
    main()
