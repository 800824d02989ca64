"""A plan's artifacts on a real server: one timeline and one progress row per plan, updated in
place on every wake, so Prefect's database does not grow a version per wake."""

from __future__ import annotations

import pytest

from casework import queries
from casework.store.db import open_store
from tests.e2e.harness import Rehab, wait_for

pytestmark = pytest.mark.e2e

CODE = "E2E-ART-1"
# Ten steps one after the other, two seconds each: each step's end is a wake.
PLAN = f"""
case: {CODE}
manager: n-zdolnik
steps:
""" + "".join(
    f"  - {{id: s{n}, domain: housing, title: Stay {n}, partner: brest-crisis-room, "
    f"duration: 2s{', after: [s' + str(n - 1) + ']' if n else ''}}}\n"
    for n in range(10)
)


def wakes(rehab: Rehab) -> int:
    store = open_store(f"sqlite:///{rehab.home / 'cases.db'}", rehab.home / "secret.key")
    try:
        return queries.wake_count(store, code=CODE)
    finally:
        store.dispose()


def test_a_plans_artifacts_are_one_row_each_after_ten_wakes(rehab: Rehab) -> None:
    rehab.rehab("plan", "launch", str(rehab.write_plan(CODE, PLAN)))
    rehab.rehab("plan", "approve", CODE, "--by", "l-istomova")
    wait_for(lambda: rehab.status(CODE)["state"] == "completed", timeout=180, what="the end")
    assert wakes(rehab) >= 10
    keys = [f"plan-{CODE.lower()}", f"plan-{CODE.lower()}-progress"]
    rows = rehab.api("POST", "/artifacts/filter", {"artifacts": {"key": {"any_": keys}}})
    assert sorted(r["key"] for r in rows) == keys, "one row per artifact, however many wakes"
    latest = {
        r["key"]: r
        for r in rehab.api(
            "POST", "/artifacts/latest/filter", {"artifacts": {"key": {"any_": keys}}}
        )
    }
    assert latest[keys[1]]["data"] == 100.0, "the UI shows the plan as it stands now"
    assert "completed" in latest[keys[0]]["data"]
