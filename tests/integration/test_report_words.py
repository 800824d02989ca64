"""The report in Russian and Belarusian reads in the reader's language: every code (an HTCDS
field, a row code, a country, a programme's rule) appears only in brackets beside a plain
label, never bare, and the method block is written in her words too."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from casework.store.db import open_store
from casework.store.report_releases import priors
from casework.store.report_source import partner_kinds, read_people
from plans.directories import Directories
from report.periods import since_start
from report.release import Release, build
from report.render_html import to_html
from report.render_text import to_md
from report.vocabulary import Lang
from tests.report_population import population, write

TZ = "Europe/Minsk"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
CYRILLIC_BEFORE = "\u0400-\u04ff»”)"
# Names of standards, the hidden-cell marker and the count's symbol are the same in every
# language; so is the IANA name of the programme's time zone.
SAME_IN_EVERY_LANGUAGE = {"HTCDS", "CTDC", TZ}


@pytest.fixture(scope="module")
def release(
    tmp_path_factory: pytest.TempPathFactory, directories: Directories
) -> Iterator[Release]:
    home = tmp_path_factory.mktemp("words")
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    write(store, population())
    period = since_start(NOW, TZ)
    yield build(
        read_people(store, directories, tz=TZ),
        period,
        threshold=11,
        release_id="R1",
        priors=priors(store, period),
        partner_kinds=partner_kinds(directories),
        scopes=["statistics"],
    )
    store.dispose()


def bare_codes(text: str) -> list[str]:
    """Latin words a reader would meet outside a bracketed code beside a label."""
    for same in SAME_IN_EVERY_LANGUAGE:
        text = text.replace(same, " ")
    text = re.sub(rf"(?<=[{CYRILLIC_BEFORE}])\s\([A-Za-z0-9_.\-]+\)", " ", text)
    text = re.sub(r"\bR1\b", " ", text)  # the release's id
    return re.findall(r"[A-Za-z_][A-Za-z_0-9\-]+", text)


def readable_html(page: str) -> str:
    page = re.sub(r"(?s)<style>.*?</style>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("lang", ["ru", "be"])
def test_the_report_in_her_language_shows_no_bare_code(release: Release, lang: Lang) -> None:
    md = to_md(release, lang).decode()
    assert bare_codes(md) == []
    assert bare_codes(readable_html(to_html(release, lang).decode())) == []


@pytest.mark.parametrize("lang", ["ru", "be"])
def test_codes_appear_beside_their_plain_labels(release: Release, lang: Lang) -> None:
    md = to_md(release, lang).decode()
    country = {"ru": "Литва (LT)", "be": "Літва (LT)"}[lang]
    gender = {"ru": "пол (prs_Gender)", "be": "пол (prs_Gender)"}[lang]
    rule = {"ru": "Правило программы (substance-use)", "be": "Правіла праграмы (substance-use)"}
    assert country in md and gender in md and rule[lang] in md


def test_the_english_report_keeps_its_codes_beside_english_labels(release: Release) -> None:
    md = to_md(release, "en").decode()
    assert "Lithuania (LT)" in md and "gender (prs_Gender)" in md
