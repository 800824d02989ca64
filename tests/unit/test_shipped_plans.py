"""Every template and example that ships parses, validates and simulates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from casework.domain.simulation import simulate
from notifications.channels import check_url
from plans.directories import Directories
from plans.loading import load_directories, load_plan
from tests.conftest import EXAMPLES, TEMPLATES

PLANS = sorted(TEMPLATES.glob("*.yaml")) + sorted(
    p for p in EXAMPLES.glob("*.yaml") if p.stem not in ("partners", "staff")
)


def test_the_required_templates_ship() -> None:
    names = {p.stem for p in TEMPLATES.glob("*.yaml")}
    assert {"acute-crisis", "long-term-reintegration", "family-reunification"} <= names


def test_the_example_directories_load_with_their_notify_urls_checked() -> None:
    d = load_directories(EXAMPLES / "partners.yaml", EXAMPLES / "staff.yaml", url_check=check_url)
    kinds = {p.kind for p in d.partners.partners.values()}
    assert kinds == {
        "healthcare",
        "education",
        "employment",
        "social-service",
        "law-enforcement",
        "legal",
        "shelter",
        "ngo",
        "other",
    }


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_every_shipped_plan_validates_and_simulates(path: Path, directories: Directories) -> None:
    plan = load_plan(path, directories)
    sim = simulate(plan, directories, launch_at=datetime(2026, 11, 28, 12, tzinfo=UTC))
    started = {e.step for e in sim.entries if e.what == "step starts"}
    assert started == {s.id for s in plan.steps}, "every step starts in the simulation"
    assert all(
        t.recipient.split(":")[0] in ("partner", "staff") for e in sim.entries for t in e.told
    )


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_no_shipped_plan_names_a_real_person(path: Path) -> None:
    text = path.read_text()
    if "name:" in text:
        assert "Example Person" in text
