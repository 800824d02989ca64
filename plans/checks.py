"""Rules a plan must meet beyond its schema: known staff and partners, unique steps, no cycles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from plans.directories import Directories
from plans.durations import format_duration
from plans.errors import Issue, listed, shown
from plans.model import MAX_STEPS, Plan, Step

MAX_SPAN = timedelta(days=36_525)  # a plan's schedule, by time alone: 100 years from its start


def check_plan(raw: dict[str, Any], file: str, directories: Directories) -> list[Issue]:
    """Every cross-reference problem of a plan, read from its raw data so that these are
    reported together with schema problems; each issue names its field path."""
    issues: list[Issue] = []
    staff = directories.staff
    for field, role in (("manager", "case-manager"), ("supervisor", "supervisor")):
        staff_id = raw.get(field)
        if not isinstance(staff_id, str):
            continue
        holders = staff.with_role(role)  # type: ignore[arg-type]  # role is a Role literal
        if staff_id not in staff.staff:
            issues.append(
                Issue(
                    file,
                    field,
                    f"unknown staff id {shown(staff_id)}; {role}s in "
                    f"{directories.staff_file}: {listed(holders)}",
                )
            )
        elif staff_id not in holders:
            issues.append(
                Issue(
                    file,
                    field,
                    f"{shown(staff_id)} is a "
                    f"{staff.staff[staff_id].role}, not a {role}; {role}s: "
                    f"{listed(holders)}",
                )
            )
    if raw.get("supervisor") is None and staff.default_supervisor is None:
        issues.append(
            Issue(
                file,
                "supervisor",
                "required: the staff directory has no "
                "default_supervisor; name one of "
                f"{listed(staff.with_role('supervisor'))}",
            )
        )

    steps = raw.get("steps")
    if not isinstance(steps, list) or len(steps) > MAX_STEPS:  # the schema says how many
        return issues
    partners = sorted(directories.partners.partners)
    first_index: dict[str, int] = {}
    graph: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        step_id, partner = step.get("id"), step.get("partner")
        if isinstance(partner, str) and partner not in directories.partners.partners:
            issues.append(
                Issue(
                    file,
                    f"steps[{i}].partner",
                    f"unknown partner {shown(partner)}; "
                    f"partners in {directories.partners_file}: {listed(partners)}",
                )
            )
        issues += _scope_issues(step.get("consent"), f"steps[{i}].consent", file, directories)
        if not isinstance(step_id, str):
            continue
        if step_id in first_index:
            issues.append(
                Issue(
                    file,
                    f"steps[{i}].id",
                    f"duplicate step id {shown(step_id)} (also "
                    f"steps[{first_index[step_id]}].id); step ids must be unique",
                )
            )
        else:
            first_index[step_id] = i
        after = step.get("after")
        graph.setdefault(step_id, []).extend(
            a for a in (after if isinstance(after, list) else []) if isinstance(a, str)
        )
    for i, step in enumerate(steps):
        after = step.get("after") if isinstance(step, dict) else None
        for k, dep in enumerate(after if isinstance(after, list) else []):
            if isinstance(dep, str) and dep not in first_index:
                issues.append(
                    Issue(
                        file,
                        f"steps[{i}].after[{k}]",
                        f"unknown step {shown(dep)}; "
                        f"steps in this plan: {listed(list(first_index))}",
                    )
                )
    cycle = find_cycle({k: [d for d in v if d in first_index] for k, v in graph.items()})
    if cycle:
        issues.append(
            Issue(
                file,
                f"steps[{first_index[cycle[0]]}].after",
                "dependency cycle: "
                + " → ".join([*cycle, cycle[0]])
                + "; a step cannot wait, even indirectly, for itself",
            )
        )
    return issues


def _by_time(step: Step, escalate_after: timedelta) -> timedelta:
    """How long a step may keep the engine's clock running after it starts, by time alone."""
    ci = step.check_ins
    last_check_in = timedelta(0)
    if ci is not None and ci.count is not None:
        last_check_in = ci.first_after + (ci.count - 1) * ci.every + 2 * ci.grace_period
    due = step.due + escalate_after if step.due is not None else timedelta(0)
    return max(step.duration or timedelta(0), due, last_check_in)


def check_span(plan: Plan, file: str) -> list[Issue]:
    """A chain of steps (`after`) whose schedule, by time alone, runs more than 100 years
    past the plan's start: each duration is bounded, but a chain of them is not, and its
    dates would overflow the engine's time arithmetic. Call it once `after` is known sound."""
    ends: dict[str, timedelta] = {}

    def end(step: Step) -> timedelta:
        # Iterative, deepest prerequisites first: a chain of hundreds of steps is no
        # reason for a RecursionError.
        stack = [step]
        while stack:
            top = stack[-1]
            waiting = [plan.step(d) for d in top.after if d not in ends]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            begins = max([top.start, *(ends[d] for d in top.after)])
            ends[top.id] = begins + _by_time(top, plan.escalate_after)
        return ends[step.id]

    for i, step in enumerate(plan.steps):
        if end(step) > MAX_SPAN:
            return [
                Issue(
                    file,
                    f"steps[{i}]",
                    f"by time alone, step {step.id} runs until {format_duration(end(step))} "
                    f"after the plan's start, more than {format_duration(MAX_SPAN)} (100 "
                    "years): shorten its start, duration, due or check-ins, or those of the "
                    "steps it comes after",
                )
            ]
    return []


def unknown_scope(scope: str, directories: Directories) -> str:
    """Why a consent scope is refused: what the valid ones are and where more are declared."""
    known = directories.staff.known_scopes()
    return (
        f"unknown consent scope {shown(scope)}; known scopes: {listed(known, limit=30)} "
        f"(a programme declares others under consent_scopes in {directories.staff_file})"
    )


def _scope_issues(scopes: Any, path: str, file: str, directories: Directories) -> list[Issue]:
    known = set(directories.staff.known_scopes())
    return [
        Issue(file, f"{path}[{k}]", unknown_scope(scope, directories))
        for k, scope in enumerate(scopes if isinstance(scopes, list) else [])
        if isinstance(scope, str) and scope not in known
    ]


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One cycle of step ids in a step -> prerequisites graph, in order, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return path[path.index(dep) :]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None
