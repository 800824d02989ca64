"""The tags of a plan's flow run: what a supervisor filters plan runs by in the Prefect UI."""

from __future__ import annotations

from plans.model import Plan


def plan_tags(plan: Plan) -> list[str]:
    """Manager, domains, template. Never a person."""
    tags = [f"manager:{plan.manager}", *sorted({f"domain:{s.domain}" for s in plan.steps})]
    if plan.template:
        tags.append(f"template:{plan.template}")
    return tags
