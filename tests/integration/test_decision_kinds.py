"""The kinds of decision are one table (casework/domain/decision_kinds.KINDS) and the sides keyed
by it: every kind has its access rule, its form and text, and its recorder; the store opens a
decision of every kind in the table and no other; each is recorded through its recorder, which
admits whom the kind's access rule names and refuses anyone else, and a value outside the
form's choice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, get_args

import pytest

from casework.domain.access import Power, deciders
from casework.domain.decision_kinds import KINDS
from casework.domain.errors import NotAllowed
from casework.services import engine, plan_changes
from casework.services.decide import COMMENT, RECORDERS, record
from casework.services.errors import ValueRefused
from casework.store import decisions, queries
from casework.store.db import Store
from casework.store.tables import DecisionRow
from flows.prefect.decision_forms import FORMS, describe
from plans.directories import Directories, StaffDirectory
from plans.model import Plan
from tests.conftest import T0

S = timedelta(seconds=1)
CODE = "BC-KINDS-1"
STAFF = {"cm": "case-manager", "cm2": "case-manager", "sup": "supervisor", "dir": "director"}
# Who may take a decision of a kind with this power, and who of the staff may not.
ALLOWED: dict[Power, str] = {"act": "cm", "approve": "sup"}
REFUSED: dict[Power, str] = {"act": "cm2", "approve": "cm"}


@pytest.fixture
def staffed(directories: Directories) -> Directories:
    members = {sid: {"name": sid, "role": role, "notify": []} for sid, role in STAFF.items()}
    staff = StaffDirectory.model_validate({"default_supervisor": "sup", "staff": members})
    return Directories(directories.partners, staff)


def plan(*extra: dict[str, Any]) -> Plan:
    """A plan whose one step needs consent and has check-ins (plus the `extra` steps)."""
    step = {
        "id": "check",
        "domain": "medical",
        "title": "Medical check",
        "partner": "brest-clinic",
        "consent": ["medical"],
        "check_ins": {"every": "10s"},
        "duration": "1h",
    }
    return Plan.model_validate(
        {"case": CODE, "manager": "cm", "supervisor": "sup", "steps": [step, *extra]}
    )


def test_every_kind_has_its_access_rule_form_text_and_recorder() -> None:
    assert set(FORMS) == set(KINDS) == set(RECORDERS)
    for name, kind in KINDS.items():
        assert kind.name == name
        assert kind.power in get_args(Power), name
        # The store's column and the run's `decision:<kind>` tag hold the name.
        assert len(name) <= DecisionRow.__table__.c.kind.type.length, name
        schema = FORMS[name].form().model_json_schema()
        fields = schema["properties"]
        # The one free field, the approval's comment, is sealed by the door: never a choice.
        assert (COMMENT in fields) == (name == "approval"), name
        asked = {field: tuple(p["enum"]) for field, p in fields.items() if field != COMMENT}
        assert asked == ({kind.choice.field: kind.choice.values} if kind.choice else {}), name


def shown(store: Store, dirs: Directories, kind: str, scope: str) -> str:
    """The text above the decision's form, as the engine fills it in."""
    status = queries.case_status(store, code=CODE)
    powers: tuple[Power, ...] = ("act", "approve")
    status["deciders"] = {
        p: deciders(dirs, power=p, manager=status["manager"], supervisor=status["supervisor"])
        for p in powers
    }
    return describe(status, CODE, kind, scope)


def decide_waiting(store: Store, dirs: Directories, at: datetime) -> set[str]:
    """As a wake does, then as people do at the door: each waiting decision's text shown, its
    form sent by someone its kind refuses, then by someone it admits. The kinds decided."""
    engine.reconcile(store, code=CODE, now=at)
    done = set()
    for d in decisions.sync_decisions(store, code=CODE, now=at):
        if d.status != "waiting":
            continue
        kind = KINDS[d.kind]
        text = shown(store, dirs, d.kind, d.scope)
        assert CODE in text and f"`{ALLOWED[kind.power]}`" in text, text
        assert f"`{REFUSED[kind.power]}`" not in text.split("May decide:")[1], text
        values = {kind.choice.field: kind.choice.values[0]} if kind.choice else {}
        with pytest.raises(NotAllowed):
            record(
                store, dirs, code=CODE, kind=d.kind, scope=d.scope, values=values,
                by=REFUSED[kind.power], now=at,
            )  # fmt: skip
        taken = decisions.get_decision(store, code=CODE, kind=d.kind, scope=d.scope)
        assert taken is not None and taken.status == "waiting", "a refusal changes nothing"
        record(
            store, dirs, code=CODE, kind=d.kind, scope=d.scope, values=values,
            by=ALLOWED[kind.power], now=at,
        )  # fmt: skip
        taken = decisions.get_decision(store, code=CODE, kind=d.kind, scope=d.scope)
        assert taken is not None and taken.status == "decided", d.run_name
        assert taken.decided_by == ALLOWED[kind.power]
        done.add(d.kind)
    return done


def test_the_store_opens_a_decision_of_every_kind_and_each_is_recorded_as_its_rule_says(
    store: Store, staffed: Directories
) -> None:
    plan_changes.launch(store, staffed, plan=plan(), by="cm", now=T0, approval_required=True)
    seen = decide_waiting(store, staffed, T0)  # the plan's approval
    seen |= decide_waiting(store, staffed, T0 + S)  # consent to its step
    added = {"id": "legal", "domain": "legal", "title": "Legal aid", "partner": "brest-legal-aid"}
    plan_changes.amend(store, staffed, plan=plan(added), by="cm", now=T0 + 2 * S)
    seen |= decide_waiting(store, staffed, T0 + 3 * S)  # the amendment, then its open-ended step
    seen |= decide_waiting(store, staffed, T0 + 12 * S)  # a check-in due
    assert seen == set(KINDS)


def test_a_value_outside_the_forms_choice_is_refused_and_nothing_is_recorded(
    store: Store, staffed: Directories
) -> None:
    plan_changes.launch(store, staffed, plan=plan(), by="cm", now=T0, approval_required=False)
    engine.reconcile(store, code=CODE, now=T0)
    opened = decisions.sync_decisions(store, code=CODE, now=T0)
    assert ("consent", "medical") in {(d.kind, d.scope) for d in opened}
    for values in ({"decision": "withdrawn"}, {}):
        with pytest.raises(ValueRefused, match="needs decision: one of given, refused"):
            record(
                store, staffed, code=CODE, kind="consent", scope="medical", values=values,
                by="cm", now=T0,
            )  # fmt: skip
    taken = decisions.get_decision(store, code=CODE, kind="consent", scope="medical")
    assert taken is not None and taken.status == "waiting"
