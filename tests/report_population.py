"""A synthetic population for the report's tests and bench, written into a real case store.

The seam: this version's `Person` model lacks the report's new fields (`birth_date`,
`minor_at_identification`, `sexual_exploitation`, `exploitation_countries`,
`identified_on`), so each person is sealed here as a plain dict carrying them, with the
store's sealer and the case's own data key, exactly as the store keeps a person. The rest are
the store's own rows and the audit chain (launches, breaches), so the report reads this store
as it reads any. Small groups are made on purpose: three boys exploited for organ removal,
five men in forced marriage, two people exploited in Moldova, a handful of `other` gender."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.tables import (
    CaseRow,
    CheckInRow,
    ConsentRow,
    DecisionRow,
    PlanRevisionRow,
    StepRow,
)
from plans.model import Plan, Step

PARTNER = {
    "psychological": "brest-psychologist",
    "medical": "brest-clinic",
    "legal": "brest-legal-aid",
    "financial": "brest-executive-committee",
    "employment": "brest-employment-centre",
    "housing": "brest-crisis-room",
    "humanitarian": "brest-aid-ngo",
}
FIRST = ("Hanna", "Volha", "Aliaksandra", "Iryna", "Tatsiana", "Maryia", "Siarhei", "Dzmitry")
LAST = ("Shved", "Kavalenka", "Zhuk", "Bandarenka", "Lis", "Kazlouskaja", "Melnik", "Hrys")
MANAGERS = ("n-zdolnik", "a-kovalchuk")
RULES = ("no-contact-with-trafficker", "substance-use")


@dataclass
class StepPlan:
    """One step of someone's plan and how it went (days after the launch)."""

    domain: str
    start: float | None  # None: skipped, never started
    end: float | None
    state: str
    check_ins: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Someone:
    """One synthetic person and their case's history."""

    code: str
    person: dict[str, Any] | None
    launched_at: datetime | None  # None: recorded after the fact, never launched
    statistics: list[str]  # the statistics consent decisions, in order
    steps: list[StepPlan] = field(default_factory=list)
    approved_after: float | None = None
    ending: tuple[str, float, str | None] | None = None  # outcome, days, rule
    relaunch_after: float | None = None

    @property
    def counted(self) -> bool:
        """Broken down by who they are: their latest statistics consent is `given`."""
        return self.person is not None and self.statistics[-1:] == ["given"]


def _person(rng: random.Random, i: int, kind: str, launched: date) -> dict[str, Any]:
    gender, age, exploitation, countries = {
        "organ-boy": ("male", 15, ["organ-removal"], ["RU"]),
        "marriage-man": ("male", 30, ["forced-marriage"], ["PL"]),
        "moldova": ("female", 28, ["labour"], ["MD"]),
        "other": ("Transgender", 25, ["SexualExploitation"], ["DE"]),
    }.get(kind, (None, 0, [], []))
    if gender is None:
        gender = rng.choice(["female"] * 6 + ["male"] * 2 + ["Feminine"])
        age = rng.choice([15, 16, 17, 22, 25, 30, 35, 41, 52])
        exploitation = rng.sample(
            ["sexual", "labour", "begging", "ForcedLabour"], rng.choice([1, 1, 2])
        )
        countries = rng.sample(["PL", "RU", "DE", "LT"], rng.choice([1, 1, 2]))
    born = date(launched.year - age, rng.randint(1, 12), rng.randint(1, 28))
    data: dict[str, Any] = {
        "name": f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
        "contact": f"+375 29 {1000000 + i}",
        "gender": gender,
        "exploitation": exploitation,
        "exploitation_countries": countries,
        "citizenship": "BY",
    }
    if i % 3 == 0:
        data["birth_date"] = born.isoformat()
    else:
        data["birth_year"] = born.year
    if "sexual" in exploitation and i % 2:
        data["sexual_exploitation"] = ["prostitution"]
    return data


def population(
    n: int = 360, *, seed: int = 7, start: date = date(2025, 1, 1), end: date = date(2026, 11, 25)
) -> list[Someone]:
    """`n` people launched from `start` to `end` (late November 2026), with small groups on
    purpose, a few imported cases and about a fifth without statistics consent. A plan ends
    (or is relaunched) at most 100 days after its launch."""
    rng = random.Random(seed)
    span = (end - start).days
    special = ["organ-boy"] * 3 + ["marriage-man"] * 5 + ["moldova"] * 2 + ["other"] * 4
    people = []
    for i in range(n):
        kind = special[i] if i < len(special) else "common"
        launched = datetime.combine(start, datetime.min.time(), UTC) + timedelta(
            days=rng.randrange(span), hours=rng.randrange(6, 16)
        )
        statistics = rng.choice([["given"]] * 8 + [[], ["refused"], ["given", "withdrawn"]])
        someone = Someone(
            code=f"BC-{launched.year}-{i:04d}",
            person=_person(rng, i, kind, launched.date()),
            launched_at=launched,
            statistics=statistics,
            approved_after=rng.choice([0.5, 1, 2, 3, 5, None]),
        )
        for _ in range(rng.choice([1, 2, 3])):
            domain = rng.choice(list(PARTNER))
            begun = rng.uniform(1, 10) if someone.approved_after is not None else None
            state = (
                "pending"
                if begun is None
                else rng.choice(["completed"] * 6 + ["cancelled", "open"])
            )
            end = None if begun is None or state == "open" else begun + rng.uniform(10, 60)
            checks = (
                [
                    (
                        begun + 7 * (k + 1),
                        rng.choice(["attended", "attended", "missed", "rescheduled"]),
                    )
                    for k in range(rng.choice([0, 1, 2]))
                ]
                if begun is not None
                else []
            )
            someone.steps.append(StepPlan(domain, begun, end, state, checks))
        ends = [s.end for s in someone.steps if s.end is not None]
        if (
            someone.approved_after is not None
            and all(s.state != "open" for s in someone.steps)
            and ends
        ):
            roll = rng.random()
            outcome = "completed" if roll < 0.75 else "cancelled" if roll < 0.9 else "terminated"
            someone.ending = (
                outcome,
                max(ends),
                rng.choice(RULES) if outcome == "terminated" else None,
            )
            if outcome == "terminated" and i % 2:
                someone.relaunch_after = max(ends) + 30
        people.append(someone)
    for j in range(12):  # recorded after the fact: identified long before rehab
        identified = date(2011 + j % 5, 3, 14)
        data = _person(rng, n + j, "common", identified)
        data["identified_on"] = identified.isoformat()
        people.append(Someone(f"BC-{identified.year}-9{j:03d}", data, None, ["given"]))
    return people


def _plan(s: Someone, title_of: list[str]) -> dict[str, Any]:
    steps = [
        Step(id=f"step-{k}", domain=p.domain, title=title_of[k], partner=PARTNER[p.domain])  # type: ignore[arg-type]  # a Domain value
        for k, p in enumerate(s.steps)
    ] or [
        Step(id="intake", domain="humanitarian", title=title_of[0], partner=PARTNER["humanitarian"])
    ]
    return Plan(case=s.code, manager=MANAGERS[0], steps=steps).model_dump(mode="json")


def step_titles(s: Someone) -> list[str]:
    """The titles of someone's steps: never to be seen in a report."""
    return [
        f"Weekly meeting at the partner for {s.code} part {k}" for k in range(max(1, len(s.steps)))
    ]


def write(store: Store, people: list[Someone]) -> None:
    """Write the people's cases into the store, as its own rows and audit chain."""
    sealer = store.sealer
    # The audit log is appended in time order (a row is never dated before the one it
    # follows), as the engine writes it: launches and breaches are gathered, then chained.
    history: list[dict[str, Any]] = []
    with store.session() as session:
        for s in people:
            at = s.launched_at or datetime(2015, 12, 31, tzinfo=UTC)

            def day(d: float, at: datetime = at) -> datetime:
                return at + timedelta(days=d)  # days after the launch

            state = "active" if s.launched_at else "completed"
            if s.ending:
                state = s.ending[0]
            elif s.launched_at and s.approved_after is None:
                state = "awaiting-approval"
            row = CaseRow(
                code=s.code,
                episode=1,
                state=state,
                manager=MANAGERS[0],
                supervisor="l-istomova",
                revision=1,
                start=at,
                approved_at=day(s.approved_after) if s.approved_after else None,
                person_sealed=sealer.seal(s.person, case=s.code) if s.person else None,
                created_at=at,
                updated_at=at,
            )
            session.add(row)
            session.flush()
            session.add(
                PlanRevisionRow(
                    case_id=row.id,
                    episode=1,
                    revision=1,
                    plan=_plan(s, step_titles(s)),
                    created_by=MANAGERS[0],
                    created_at=at,
                )
            )
            if s.launched_at:
                history.append(
                    dict(
                        case_code=s.code,
                        actor=MANAGERS[0],
                        action="launch",
                        now=at,
                    )
                )
                session.add(
                    DecisionRow(
                        case_id=row.id,
                        episode=1,
                        kind="approval",
                        scope="",
                        status="decided" if s.approved_after else "waiting",
                        decision="approved" if s.approved_after else None,
                        decided_by="l-istomova" if s.approved_after else None,
                        created_at=at,
                        decided_at=day(s.approved_after) if s.approved_after else None,
                    )
                )
            for k, p in enumerate(s.steps):
                srow = StepRow(
                    case_id=row.id,
                    episode=1,
                    step_id=f"step-{k}",
                    state=p.state if p.start is not None else "skipped",
                    started_at=day(p.start) if p.start is not None else None,
                    ended_at=day(p.end)
                    if p.end is not None
                    else (day(s.ending[1]) if p.start is None and s.ending else None),
                )
                session.add(srow)
                session.flush()
                for seq, (d, outcome) in enumerate(p.check_ins):
                    session.add(
                        CheckInRow(
                            step_row_id=srow.id,
                            seq=seq,
                            at=day(d),
                            outcome=outcome,
                            recorded_by=MANAGERS[0],
                            recorded_at=day(d),
                        )
                    )
            for n, status in enumerate(s.statistics):
                session.add(
                    ConsentRow(
                        case_id=row.id,
                        episode=1,
                        scope="statistics",
                        status=status,
                        by=MANAGERS[0],
                        at=day(0.01 * (n + 1)),
                    )
                )
            if s.ending and s.ending[0] == "terminated":
                history.append(
                    dict(
                        case_code=s.code,
                        actor=MANAGERS[0],
                        action="rule-breach",
                        now=day(s.ending[1]),
                        detail={"rule": s.ending[2] or ""},
                    )
                )
            if s.relaunch_after is not None:
                again = day(s.relaunch_after)
                row.episode, row.state, row.revision = 2, "active", 1
                session.add(
                    PlanRevisionRow(
                        case_id=row.id,
                        episode=2,
                        revision=1,
                        plan=_plan(s, step_titles(s)),
                        created_by=MANAGERS[0],
                        created_at=again,
                    )
                )
                history.append(
                    dict(
                        case_code=s.code,
                        actor=MANAGERS[0],
                        action="launch",
                        now=again,
                        detail={"episode": 2, "relaunch_of": "terminated"},
                    )
                )
        for entry in sorted(history, key=lambda e: e["now"]):
            audit(session, sealer=sealer, **entry)
