"""`rehab report` as the operator runs it: every format and language written as a release
with nothing personal in it, files for the owner alone, one-line refusals, and the html
printed to PDF by a real headless browser."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.store.db import open_store
from casework.store.tables import AuditRow, ReportReleaseRow
from plans.directories import Directories
from tests.integration.test_cli import rehab
from tests.report_population import MANAGERS, Someone, population, step_titles, write

FORMATS = ("md", "csv", "json", "html")


@pytest.fixture(scope="module")
def home(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], list[Someone]]]:
    root = tmp_path_factory.mktemp("report-cli")
    env = {"REHAB_HOME": str(root / "home"), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    (root / "home").mkdir(mode=0o700)
    store = open_store(f"sqlite:///{root / 'home' / 'cases.db'}", root / "home" / "secret.key")
    people = population()
    write(store, people)
    store.dispose()
    yield env, people


def personal_strings(people: list[Someone], directories: Directories) -> set[str]:
    """What must never be in a report: case codes, names, contacts, dates of birth, step
    titles, staff ids, partner ids and names."""
    found = {"l-istomova", *MANAGERS}
    for s in people:
        found |= {s.code, *step_titles(s)}
        if s.person:
            found |= {s.person["name"], s.person["contact"], *s.person["name"].split()}
            if "birth_date" in s.person:
                found.add(s.person["birth_date"])
    for pid, partner in directories.partners.partners.items():
        found |= {pid, partner.name}
    return found


def test_every_format_in_every_language_shows_nothing_personal(
    home: tuple[dict[str, str], list[Someone]], directories: Directories, tmp_path: Path
) -> None:
    env, people = home
    forbidden = personal_strings(people, directories)
    for fmt in FORMATS:
        for lang in ("en", "ru", "be"):
            out = tmp_path / f"report-{lang}.{fmt}"
            done = rehab(
                env,
                "report",
                "monthly",
                "--month",
                "2026-11",
                "--format",
                fmt,
                "--lang",
                lang,
                "-o",
                str(out),
            )
            assert done.returncode == 0, done.stderr
            assert out.stat().st_mode & 0o777 == 0o600
            text = out.read_bytes().decode("utf-8-sig")
            leaked = sorted(s for s in forbidden if s in text)
            assert leaked == [], (fmt, lang, leaked[:5])
            assert "release R" in done.stdout and str(out) in done.stdout
            assert not [s for s in forbidden if s in done.stdout + done.stderr]
    md = (tmp_path / "report-ru.md").read_text()
    assert "Женщины" in md and "Без разбивки" in md
    assert "Жанчыны" in (tmp_path / "report-be.html").read_text()


def test_csv_is_one_row_per_cell_with_a_bom_and_the_agreed_columns(
    home: tuple[dict[str, str], list[Someone]], tmp_path: Path
) -> None:
    env, _ = home
    out = tmp_path / "q.csv"
    assert (
        rehab(
            env, "report", "quarterly", "--quarter", "2026-Q4", "--format", "csv", "-o", str(out)
        ).returncode
        == 0
    )
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "release_id",
        "table",
        "basis",
        "period_start",
        "period_end",
        "dim1",
        "code1",
        "dim2",
        "code2",
        "count",
        "flag",
        "as_of",
    ]
    assert {r["flag"] for r in rows} <= {"ok", "c", "carried"}
    assert all(r["count"] == "" for r in rows if r["flag"] == "c")
    assert {r["period_start"] for r in rows if r["basis"] == "period"} == {"2026-10-01"}
    assert {r["period_end"] for r in rows} == {"2026-12-31"}


def test_json_carries_the_cells_and_the_method(home: tuple[dict[str, str], list[Someone]]) -> None:
    env, _ = home
    done = rehab(env, "report", "yearly", "--year", "2026", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["release_id"] == "draft", "a report to the terminal is no release"
    assert data["method"]["threshold"] == 11 and data["method"]["marker"] == "c"
    assert {c["flag"] for c in data["cells"]} <= {"ok", "c", "carried"}


def test_a_file_is_a_release_recorded_as_aggregates_and_the_terminal_is_not(
    home: tuple[dict[str, str], list[Someone]], tmp_path: Path
) -> None:
    env, _ = home
    db = Path(env["REHAB_HOME"]) / "cases.db"
    store = open_store(f"sqlite:///{db}", Path(env["REHAB_HOME"]) / "secret.key")
    try:
        with store.session() as session:
            before = len(session.scalars(select(ReportReleaseRow)).all())
        assert rehab(env, "report", "since-start").returncode == 0
        assert rehab(env, "report", "since-start", "-o", str(tmp_path / "all.md")).returncode == 0
        as_json = rehab(
            env, "report", "yearly", "--year", "2026", "-o", str(tmp_path / "y.md"), "--json"
        )
        assert json.loads(as_json.stdout)["period"] == "2026"
        with store.session() as session:
            rows = session.scalars(select(ReportReleaseRow).order_by(ReportReleaseRow.id)).all()
            kept = rows[before:]
            assert {r.basis for r in kept if r.kind == "since-start"} == {"cumulative"}
            assert {r.kind for r in kept} == {"since-start", "yearly"}
            assert all(len(c) == 5 for r in kept for c in r.cells), (
                "code1, code2, count, flag, as_of"
            )
            reads = session.scalars(
                select(AuditRow).where(AuditRow.action == "report-read").order_by(AuditRow.id)
            ).all()
        assert reads[-1].case_code is None and reads[-1].detail["cases"] == 372
        assert reads[-3].detail["release"] == "draft", "a draft's read is audited too"
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("monthly", "--month", "2026-13"), "--month '2026-13' is not a month like 2026-11"),
        (
            ("quarterly", "--quarter", "2026-Q5"),
            "--quarter '2026-Q5' is not a quarter like 2026-Q4",
        ),
        (("yearly", "--year", "26"), "--year '26' is not a year like 2026"),
        (("monthly", "--month", "2026-11", "--format", "pdf"), "--format 'pdf' is not one of md"),
        (("monthly", "--month", "2026-11", "--lang", "de"), "--lang 'de' is not one of en, ru, be"),
        (("monthly", "--month", "2099-01"), "the period 2099-01 has not begun yet"),
        (
            ("monthly", "--month", "0001-01"),
            "--month '0001-01' is not a month like 2026-11, from 1900-01 to 2200-12",
        ),
        (("monthly", "--month", "9999-12"), "--month '9999-12' is not a month like 2026-11, from"),
        (
            ("quarterly", "--quarter", "0001-Q1"),
            "--quarter '0001-Q1' is not a quarter like 2026-Q4, from 1900-Q1 to 2200-Q4",
        ),
        (("quarterly", "--quarter", "9999-Q4"), "--quarter '9999-Q4' is not a quarter like"),
        (("yearly", "--year", "0001"), "--year '0001' is not a year like 2026, from 1900 to 2200"),
        (("yearly", "--year", "9999"), "--year '9999' is not a year like 2026, from 1900 to 2200"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(
    home: tuple[dict[str, str], list[Someone]], args: tuple[str, ...], says: str
) -> None:
    env, _ = home
    done = rehab(env, "report", *args)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: {done.stderr.strip()[7:]}"]
    assert says in done.stderr


def test_a_threshold_below_11_is_refused_and_a_file_is_never_overwritten(
    home: tuple[dict[str, str], list[Someone]], tmp_path: Path
) -> None:
    env, _ = home
    done = rehab({**env, "REHAB_REPORT_THRESHOLD": "5"}, "report", "since-start")
    assert done.returncode == 1
    assert (
        "REHAB_REPORT_THRESHOLD: 5 is below 11: the threshold may be raised, never lowered"
        in done.stderr
    )
    raised = rehab(
        {**env, "REHAB_REPORT_THRESHOLD": "20", "REHAB_DEBUG": ""},
        "report",
        "since-start",
        "--format",
        "json",
    )
    assert json.loads(raised.stdout)["method"]["threshold"] == 20
    there = tmp_path / "there.md"
    there.write_text("keep me")
    done = rehab(env, "report", "since-start", "-o", str(there))
    assert done.returncode == 1 and "already exists" in done.stderr
    assert there.read_text() == "keep me"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_html_prints_to_pdf_in_a_real_headless_browser(
    home: tuple[dict[str, str], list[Someone]], tmp_path: Path
) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    env, _ = home
    page = tmp_path / "report.html"
    assert (
        rehab(
            env,
            "report",
            "monthly",
            "--month",
            "2026-11",
            "--format",
            "html",
            "--lang",
            "ru",
            "-o",
            str(page),
        ).returncode
        == 0
    )
    html = page.read_text()
    assert "<svg" in html and "<style>" in html and "@media print" in html
    assert "src=" not in html and "href=" not in html, "one self-contained file"
    pdf, png = tmp_path / "report.pdf", tmp_path / "report.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    subprocess.run(
        [browser, *flags, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [browser, *flags, f"--screenshot={png}", "--window-size=1000,1400", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 5000
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
