"""What a purged case leaves for the programme report (security.md rule 9, report.md): its
tombstone row keeps the facts the report counts, and nothing else of its history.

Kept: the day the person was identified (where recorded after the fact); per step its
episode, domain, partner id, state and when it started and ended; per counted check-in its
domain, outcome and time; per consent decision its scope, status and time; per approval asked
its episode and when it was given; an import's closing date, outcome and rule. Not kept: step
ids, titles, notes, messages, who decided, the plan itself. So a purged case still counts in
the aggregates (since the beginning, and in the periods already released, which the report's
difference rule compares against), and its rows of history (plan revisions, steps, check-ins,
consents, decisions, outbox, its import record) are deleted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.store.tables import CaseRow, DecisionRow, ImportedCaseRow
from report.facts import CheckInFact, ConsentFact, StepFact
from report.vocabulary import HELP_TYPE
from report.who import identified_on

COUNTED_CHECK_INS = ("attended", "missed", "rescheduled")  # what the report reads


def _at(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def freeze(session: Session, row: CaseRow, person: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report's facts of the case, from its rows and its unsealed `person` (only the
    day it was identified, where recorded after the fact), before they are deleted."""
    planned: dict[tuple[int, str], tuple[str, str]] = {}
    for revision in row.revisions:  # in order: the newest revision's word wins
        for step in revision.plan.get("steps", []):
            planned[(revision.episode, step["id"])] = (step["domain"], step["partner"])
    steps, check_ins = [], []
    for step_row in row.steps:
        domain, partner = planned.get((step_row.episode, step_row.step_id), ("other", ""))
        steps.append(
            [
                step_row.episode,
                domain,
                partner,
                _at(step_row.started_at),
                _at(step_row.ended_at),
                step_row.state,
                step_row.accepted,
                _at(step_row.answered_at),
            ]
        )
        check_ins += [
            [domain, _at(c.at), c.outcome, partner, (c.recorded_by or "").startswith("partner:")]
            for c in step_row.check_ins
            if c.outcome in COUNTED_CHECK_INS
        ]
    approvals = session.execute(
        select(DecisionRow.episode, DecisionRow.decision, DecisionRow.decided_at).where(
            DecisionRow.case_id == row.id, DecisionRow.kind == "approval"
        )
    ).all()
    imported = session.scalars(
        select(ImportedCaseRow).where(ImportedCaseRow.case_id == row.id)
    ).one_or_none()
    on = identified_on(person)
    return {
        "identified_on": None if on is None else on.isoformat(),
        "steps": steps,
        "check_ins": check_ins,
        "consents": [[c.scope, c.status, _at(c.at)] for c in row.consents],
        "approvals": [
            [episode, _at(at) if decision == "approved" else None]
            for episode, decision, at in approvals
        ],
        "imported": None
        if imported is None
        else [
            imported.closed_on.isoformat() if imported.closed_on else None,
            imported.outcome,
            imported.rule,
        ],
    }


@dataclass
class ImportedFacts:
    """An import's ending, shaped as report_source reads it from `imported_cases`."""

    closed_on: date | None
    outcome: str | None
    rule: str | None


@dataclass
class PurgedFacts:
    """A purged case's history as the report's facts."""

    steps: list[tuple[int, StepFact]] = field(default_factory=list)
    check_ins: list[CheckInFact] = field(default_factory=list)
    consents: list[ConsentFact] = field(default_factory=list)
    approvals: dict[int, datetime | None] = field(default_factory=dict)
    imported: ImportedFacts | None = None
    identified_on: date | None = None


def thaw(history: dict[str, Any], kinds: Mapping[str, str]) -> PurgedFacts:
    """The kept facts of a purged case, with partners as their kinds in the directory now."""
    on = history.get("identified_on")
    facts = PurgedFacts(identified_on=date.fromisoformat(on) if on else None)
    for episode, domain, partner, started, ended, state, *answer in history.get("steps", []):
        kind = kinds.get(partner, "unknown-partner")
        help_type = HELP_TYPE.get(domain, "SocialCare")
        accepted, answered = [*answer, None, None][:2]  # frozen before partners answered: none
        fact = StepFact(
            help_type,
            kind,
            _moment(started),
            _moment(ended),
            state,
            accepted=accepted,
            answered_at=_moment(answered),
        )
        facts.steps.append((episode, fact))
    for domain, at, outcome, *by in history.get("check_ins", []):
        moment = _moment(at)
        partner, reported = [*by, "", False][:2]
        if moment is not None:
            facts.check_ins.append(
                CheckInFact(
                    HELP_TYPE.get(domain, "SocialCare"),
                    moment,
                    outcome,
                    kinds.get(partner, "unknown-partner"),
                    bool(reported),
                )
            )
    for scope, status, at in history.get("consents", []):
        moment = _moment(at)
        if moment is not None:
            facts.consents.append(ConsentFact(scope, status, moment))
    facts.approvals = {episode: _moment(at) for episode, at in history.get("approvals", [])}
    if history.get("imported") is not None:
        closed_on, outcome, rule = history["imported"]
        facts.imported = ImportedFacts(
            date.fromisoformat(closed_on) if closed_on else None, outcome, rule
        )
    return facts


def forget(session: Session, row: CaseRow) -> None:
    """Delete the case's rows of history (the caller has frozen what the report needs)."""
    for step_row in row.steps:
        for check_in in step_row.check_ins:
            session.delete(check_in)
    for child in [*row.steps, *row.revisions, *row.consents]:
        session.delete(child)
    for kept in session.scalars(select(DecisionRow).where(DecisionRow.case_id == row.id)):
        session.delete(kept)
    for imported in session.scalars(
        select(ImportedCaseRow).where(ImportedCaseRow.case_id == row.id)
    ):
        session.delete(imported)
    session.flush()
    session.expire(row, ["steps", "revisions", "consents"])
