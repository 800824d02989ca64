"""The timeline artifact a supervisor reads in the Prefect UI: tables with column headings,
narrow enough for a normal window beside the UI's side panel, times local with their zone."""

from __future__ import annotations

import re
from typing import Any

from flows.shown.artifacts import plan_markdown

# About 820 px of the artifact's column at a 1400 px window, at the UI's ~8.5 px a character
# with the cells' padding counted as three characters a column.
WINDOW_CHARACTERS = 96


def step(step_id: str, partner: str, state: str, **more: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "domain": "psychological",
        "partner": partner,
        "state": state,
        "overdue": False,
        "started_at": None,
        "ended_at": None,
        "next_check_in": None,
        "check_ins": [],
        "messages": {},
        **more,
    }


STATUS: dict[str, Any] = {
    "case": "BC-2026-0042",
    "state": "active",
    "revision": 3,
    "manager": "n-zdolnik",
    "supervisor": "l-istomova",
    "timezone": "Europe/Minsk",
    "wake_at": "2026-12-08T06:00:00+00:00",
    "reason": None,
    "steps": [
        step(
            "psychological-support",
            "brest-psychologist-centre",
            "open",
            overdue=True,
            started_at="2026-12-01T06:00:00+00:00",
            next_check_in="2026-12-08T06:00:00+00:00",
            check_ins=[{"outcome": "attended"}, {"outcome": "missed"}],
            messages={"referral": 1, "reminder": 2},
        ),
        step(
            "medical-check",
            "brest-clinic",
            "completed",
            started_at="2026-12-01T06:00:00+00:00",
            ended_at="2026-12-03T12:30:00+00:00",
        ),
        step("rehab-centre", "minsk-rehab-centre", "pending"),
    ],
    "messages": {
        "brest-psychologist-centre": {
            "sent": 3,
            "pending": 0,
            "dead": 0,
            "last_sent": "2026-12-01T06:00:05+00:00",
        }
    },
    "consents": {"medical": {"status": "given"}},
}


def tables(markdown: str) -> list[list[list[str]]]:
    """Each markdown table as rows of cells, the separator row left out."""
    found: list[list[list[str]]] = []
    previous_was_row = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not previous_was_row:
                found.append([])
            if not all(re.fullmatch(r"-+", c) for c in cells):
                found[-1].append(cells)
        previous_was_row = line.startswith("|")
    return found


def shown(cell: str) -> str:
    return cell.replace("`", "").replace("**", "")


def test_every_table_of_the_timeline_has_column_headings() -> None:
    found = tables(plan_markdown(STATUS, ["approval"]))
    assert len(found) >= 3
    for table in found:
        heading, *rows = table
        assert rows, "a table with a heading has rows"
        assert sum(1 for h in heading if h) >= len(heading) - 1, heading  # the mark may be bare


def test_the_timeline_fits_a_normal_window() -> None:
    for table in tables(plan_markdown(STATUS, ["approval", "consent · medical"])):
        widths = [max(len(shown(row[i])) for row in table) for i in range(len(table[0]))]
        assert sum(widths) + 3 * len(widths) <= WINDOW_CHARACTERS, table


def test_times_are_the_plans_local_time_and_the_zone_is_named() -> None:
    markdown = plan_markdown(STATUS, [])
    assert "times in Europe/Minsk" in markdown
    assert "2026-12-01 09:00" in markdown  # 06:00 UTC is 09:00 in Minsk
    assert "2026-12-03 15:30" in markdown
    assert "06:00" not in markdown.replace("2026-12-0", "")  # no UTC time shown as local


def test_an_overdue_step_and_missed_check_ins_stand_out() -> None:
    markdown = plan_markdown(STATUS, [])
    assert "open **overdue**" in markdown
    assert "| 2 (1 missed) |" in markdown


def test_a_step_never_delivered_and_the_messages_withdrawn_say_so_and_why() -> None:
    status = {
        **STATUS,
        "steps": [
            step("crisis-room", "brest-crisis-room", "completed", delivered=False),
            *STATUS["steps"],
        ],
        "withdrawn": [
            {
                "kind": "referral",
                "to": "partner:brest-crisis-room",
                "step": "crisis-room",
                "why": "the step was completed before its partner was told",
            },
            {"kind": "approval-request", "to": "staff:l-istomova", "step": None, "why": "x"},
        ],
    }
    markdown = plan_markdown(status, [])
    assert "completed **not delivered**" in markdown
    assert (
        "- referral to partner:brest-crisis-room (crisis-room): the step was completed before "
        "its partner was told"
    ) in markdown
    assert "- approval-request to staff:l-istomova: x" in markdown
