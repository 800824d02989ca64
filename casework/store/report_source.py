"""What the programme report reads from the case store, in a few bulk queries (cases,
launches and endings from the audit log, plan revisions, steps, check-ins, consents,
approvals), with each person unsealed in memory in one tight loop and reduced at once to
codes (report/who.py). Releases are kept here too: aggregates only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from casework.store import purged_history
from casework.store.db import Store
from casework.store.tables import (
    AuditRow,
    CaseRow,
    CheckInRow,
    ConsentRow,
    DecisionRow,
    ImportedCaseRow,
    PlanRevisionRow,
    StepRow,
)
from plans.dates import moment
from plans.directories import Directories
from plans.model import STATISTICS_SCOPE as STATISTICS
from report.facts import CheckInFact, ConsentFact, Episode, Person, StepFact
from report.vocabulary import CASE_STATES, HELP_TYPE
from report.who import identified_on, who

ENDINGS = (
    "rule-breach",
    "plan-terminated",
    "plan-completed",
    "plan-cancelled",
    "consent-withdrawn-all",
    "case-closed",  # `rehab case close`: its detail says why (casework/services/closing.py)
)
ENDED = ("completed", "cancelled", "terminated")
UNDELIVERED = ("pending", "withdrawn", "dead")  # a completed step's partner was never told


def _plans(store: Store) -> dict[tuple[int, int, str], tuple[str, str]]:
    """(case id, episode, step id) -> (domain, partner id), the newest revision's word."""
    found: dict[tuple[int, int, str], tuple[str, str]] = {}
    with store.session() as session:
        rows = session.execute(
            select(PlanRevisionRow.case_id, PlanRevisionRow.episode, PlanRevisionRow.plan).order_by(
                PlanRevisionRow.case_id, PlanRevisionRow.episode, PlanRevisionRow.revision
            )
        )
        for case_id, episode, plan in rows:
            for step in plan.get("steps", []):
                found[(case_id, episode, step["id"])] = (step["domain"], step["partner"])
    return found


def read_people(store: Store, directories: Directories, *, tz: str) -> list[Person]:
    """Every case as a person the report may count (purged ones too, never broken down)."""
    kinds = {pid: p.kind for pid, p in directories.partners.partners.items()}
    plans = _plans(store)
    with store.session() as session:
        cases = session.execute(
            select(
                CaseRow.id,
                CaseRow.code,
                CaseRow.state,
                CaseRow.episode,
                CaseRow.created_at,
                CaseRow.updated_at,
                CaseRow.person_sealed,
                CaseRow.start,
                CaseRow.purged_history,
            )
        ).all()
        imported: dict[int, Any] = {
            r.case_id: r
            for r in session.execute(
                select(
                    ImportedCaseRow.case_id,
                    ImportedCaseRow.closed_on,
                    ImportedCaseRow.outcome,
                    ImportedCaseRow.rule,
                )
            )
        }
        audit_rows = session.execute(
            select(AuditRow.case_code, AuditRow.at, AuditRow.action, AuditRow.detail)
            .where(AuditRow.action.in_(("launch", *ENDINGS)))
            .order_by(AuditRow.id)
        ).all()
        step_rows = session.execute(
            select(
                StepRow.id,
                StepRow.case_id,
                StepRow.episode,
                StepRow.step_id,
                StepRow.state,
                StepRow.started_at,
                StepRow.ended_at,
                StepRow.referral,
                StepRow.accepted,
                StepRow.answered_at,
            )
        ).all()
        check_rows = session.execute(
            select(
                CheckInRow.step_row_id, CheckInRow.at, CheckInRow.outcome, CheckInRow.recorded_by
            ).where(CheckInRow.outcome.in_(("attended", "missed", "rescheduled")))
        ).all()
        consent_rows = session.execute(
            select(ConsentRow.case_id, ConsentRow.scope, ConsentRow.status, ConsentRow.at).order_by(
                ConsentRow.id
            )
        ).all()
        approvals = session.execute(
            select(
                DecisionRow.case_id,
                DecisionRow.episode,
                DecisionRow.decision,
                DecisionRow.decided_at,
            ).where(DecisionRow.kind == "approval")
        ).all()
    history: dict[str, list[Any]] = defaultdict(list)
    for row in audit_rows:
        history[row.case_code].append(row)
    steps: dict[int, list[tuple[int, StepFact]]] = defaultdict(list)
    step_of: dict[int, tuple[int, str, str]] = {}
    for s in step_rows:
        domain, partner = plans.get((s.case_id, s.episode, s.step_id), ("other", ""))
        help_type = HELP_TYPE.get(domain, "SocialCare")
        kind = kinds.get(partner, "unknown-partner")
        step_of[s.id] = (s.case_id, help_type, kind)
        fact = StepFact(
            help_type,
            kind,
            s.started_at,
            s.ended_at,
            s.state,
            delivered=not (s.state == "completed" and s.referral in UNDELIVERED),
            accepted=s.accepted,
            answered_at=s.answered_at,
        )
        steps[s.case_id].append((s.episode, fact))
    check_ins = _check_in_facts(check_rows, step_of)
    consents: dict[int, list[ConsentFact]] = defaultdict(list)
    for k in consent_rows:
        consents[k.case_id].append(ConsentFact(k.scope, k.status, k.at))
    approved: dict[tuple[int, int], datetime | None] = {
        (a.case_id, a.episode): (a.decided_at if a.decision == "approved" else None)
        for a in approvals
    }
    kept_on: dict[int, date] = {}
    for case in cases:  # a purged case's history is kept only as the facts counted here
        if case.purged_history is not None:
            kept = purged_history.thaw(case.purged_history, kinds)
            if kept.identified_on is not None:
                kept_on[case.id] = kept.identified_on
            steps[case.id] += kept.steps
            check_ins[case.id] += kept.check_ins
            consents[case.id] += kept.consents
            approved.update({(case.id, e): at for e, at in kept.approvals.items()})
            if kept.imported is not None:
                imported[case.id] = kept.imported
    zone = ZoneInfo(tz)
    people = []
    for case in cases:  # the one loop that unseals: each person only in memory, only here
        person = (
            store.sealer.open(case.person_sealed, case=case.code)
            if case.person_sealed is not None
            else None
        )
        episodes = _episodes(case, history[case.code], steps[case.id], approved)
        if case.id in imported:  # its life before rehab, as the import recorded it
            episodes.insert(0, _imported_episode(case.start, imported[case.id], zone))
        on = identified_on(person) or kept_on.get(case.id)
        if on is not None:
            at = datetime.combine(on, time(0), zone).astimezone(UTC)
        else:
            at = episodes[0].launched_at if episodes else case.created_at
        counted = person is not None and _statistics_given(consents[case.id], history[case.code])
        people.append(
            Person(
                identified_at=at,
                who=who(person, identified=at.astimezone(zone).date()) if counted else None,
                episodes=tuple(episodes),
                steps=tuple(f for _, f in steps[case.id]),
                check_ins=tuple(check_ins[case.id]),
                consents=tuple(consents[case.id]),
                closed_state=CASE_STATES.get(case.state)
                if not episodes and case.state in ENDED
                else None,
            )
        )
    return people


def _imported_episode(start: datetime, row: Any, zone: ZoneInfo) -> Episode:
    """A case's help before rehab, from its import: from its identification to its closing
    (each kept as noon of the day in the programme's zone), and how it ended."""
    ended = None if row.closed_on is None else moment(row.closed_on, zone)
    return Episode(
        launched_at=start,
        number=1,
        ended_at=ended,
        outcome=row.outcome if ended is not None else None,
        rule=row.rule,
    )


def _statistics_given(consents: list[ConsentFact], rows: list[Any]) -> bool:
    """The latest `statistics` decision is `given`, and no withdrawal of every consent came
    after it (a missing record means not given)."""
    decisions = [c for c in consents if c.scope == STATISTICS]
    if not decisions or decisions[-1].status != "given":
        return False
    withdrawn_all = [r.at for r in rows if r.action == "consent-withdrawn-all"]
    return not withdrawn_all or max(withdrawn_all) < decisions[-1].at


def _episodes(
    case: Any,
    rows: list[Any],
    steps: list[tuple[int, StepFact]],
    approved: dict[tuple[int, int], datetime | None],
) -> list[Episode]:
    """The case's episodes from its launches; each one's end from the next launch (what it
    relaunched), the audit rows that end plans and its steps' ends."""
    launches = [r for r in rows if r.action == "launch"]
    episodes = []
    for i, launch in enumerate(launches):
        number = int(launch.detail.get("episode", 1)) if launch.detail else 1
        nxt = launches[i + 1] if i + 1 < len(launches) else None
        until = nxt.at if nxt is not None else None
        outcome = (nxt.detail or {}).get("relaunch_of") if nxt is not None else case.state
        outcome = outcome if outcome in ENDED else None
        inside = [
            r
            for r in rows
            if r.action != "launch" and r.at >= launch.at and (until is None or r.at < until)
        ]
        rule = next((r.detail.get("rule") for r in reversed(inside) if r.detail.get("rule")), None)
        closed = next(
            (r.detail.get("reason") for r in reversed(inside) if r.action == "case-closed"), None
        )
        ends = [r.at for r in inside] + [f.ended_at for e, f in steps if e == number and f.ended_at]
        ended_at = None
        if outcome is not None:
            ended_at = max(ends) if ends else (until or case.updated_at)
        episodes.append(
            Episode(
                launched_at=launch.at,
                number=number,
                approval_asked=(case.id, number) in approved,
                approved_at=approved.get((case.id, number)),
                ended_at=ended_at,
                outcome=outcome,
                rule=rule if outcome == "terminated" else None,
                closed=closed if outcome in ("completed", "cancelled") else None,
                not_delivered=outcome == "completed" and _none_delivered(number, steps),
            )
        )
    return episodes


def _none_delivered(episode: int, steps: list[tuple[int, StepFact]]) -> bool:
    """Its steps were completed, yet no partner of them was ever told: not help received."""
    done = [f for e, f in steps if e == episode and f.state == "completed"]
    return bool(done) and not any(f.delivered for f in done)


def partner_kinds(directories: Directories) -> list[str]:
    """Every partner kind the directory names (rows shown even when 0)."""
    return sorted({p.kind for p in directories.partners.partners.values()})


def _check_in_facts(
    rows: Sequence[Any], step_of: Mapping[int, tuple[int, str, str]]
) -> dict[int, list[CheckInFact]]:
    """Each case's recorded check-ins: type of help, partner kind, and whether the partner
    reported it through its link."""
    check_ins: dict[int, list[CheckInFact]] = defaultdict(list)
    for c in rows:
        case_id, help_type, kind = step_of[c.step_row_id]
        by_partner = (c.recorded_by or "").startswith("partner:")
        check_ins[case_id].append(CheckInFact(help_type, c.at, c.outcome, kind, by_partner))
    return check_ins
