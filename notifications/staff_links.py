"""The links a staff member's message carries instead of a command (staff have no shell, only
the door): the case's page at the door, `/rehab/cases/CODE`, and, when the decision the message
asks for has a form waiting, that form's page in Prefect's UI through the door,
`/runs/flow-run/<run id>`. The door's address is REHAB_PUBLIC_URL (settings.door_url)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.domain.decision_kinds import amendment_scope, approval_scope, check_in_scope
from casework.store.tables import CaseRow, DecisionRow, OutboxRow

CASE_PAGE = "/rehab/cases/{code}"
FORM_PAGE = "/runs/flow-run/{run}"


def case_url(public_url: str, code: str) -> str:
    """The case's page at the door."""
    return public_url.rstrip("/") + CASE_PAGE.format(code=quote(code, safe=""))


def form_url(public_url: str, run: str) -> str:
    """A decision form's page in Prefect's UI, through the door."""
    return public_url.rstrip("/") + FORM_PAGE.format(run=quote(run, safe=""))


def asked(row: OutboxRow, case_row: CaseRow) -> list[tuple[str, str]]:
    """The decisions (kind, scope) a message of this kind asks its reader to take."""
    step, seq = row.step_id or "", row.occurrence.split("@")[0]
    match row.kind:
        case "approval-request":
            return [("approval", approval_scope(case_row.revision))]
        case "amendment-request":
            return [("amendment", amendment_scope(case_row.revision))]
        case "consent-request":
            return [("consent", scope) for scope in row.occurrence.split(",")]
        case "check-in-missed" | "missed-not-followed-up" | "check-in-reported" if seq.isdigit():
            return [("check-in", check_in_scope(step, int(seq)))]
        case "step-overdue":
            return [("completion", step)]
    return []


def staff_links(
    public_url: str, session: Session | None, row: OutboxRow, case_row: CaseRow
) -> dict[str, Any]:
    """`case_url`, `form_url` ("" when no form waits) and `link` (the form's, else the case's)
    for a staff member's message about this case."""
    case = case_url(public_url, case_row.code)
    form = ""
    wanted = asked(row, case_row)
    if session is not None and wanted:
        runs = {
            (r.kind, r.scope): r.flow_run_id
            for r in session.scalars(
                select(DecisionRow).where(
                    DecisionRow.case_id == case_row.id,
                    DecisionRow.episode == case_row.episode,
                    DecisionRow.status == "waiting",
                    DecisionRow.flow_run_id.is_not(None),
                )
            )
        }
        run = next((runs[w] for w in wanted if runs.get(w)), None)
        form = form_url(public_url, run) if run else ""
    return {"case_url": case, "form_url": form, "link": form or case}
