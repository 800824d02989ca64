"""`rehab case import` of 10,000 synthetic earlier cases into a fresh store: the time to read
and check the file, to import every record (in batches of `importing.BATCH` to a transaction:
the case, its consents, the person sealed with a new data key, the audit row), and to import
it again (every record already there), per case; medians of `--runs`.

    .venv/bin/python bench/import_cases.py [--cases 10000] [--runs 1]
        [--databases sqlite postgresql]

Figures go to bench/results.json under `import_cases` of each database.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, database, median, record  # after the path set-up
from casework.services import importing
from casework.store.db import open_store
from plans.errors import RecordIssue
from plans.imports import ImportRecord, parse_record, read_records
from plans.loading import load_directories

EXAMPLES = ROOT / "plans" / "examples"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
GENDERS = ["Feminine"] * 6 + ["Masculine"] * 3 + ["Other", "NonSpecifiedUnknown"]
KINDS = ["SexualExploitation", "ForcedLabour", "Servitude", "ForcedBegging", "pornography"]
COUNTRIES = ["PL", "RU", "LT", "DE", "CZ", "TR", "AE", "IL", "CY", "BY"]


def synthetic(n: int, seed: int = 13) -> list[dict[str, Any]]:
    """`n` earlier cases: most closed, some open, some terminated; a person on each."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        identified = date(2004, 1, 1) + timedelta(days=rng.randrange(22 * 365))
        item: dict[str, Any] = {
            "case": f"BC-{identified.year}-{i:05d}",
            "manager": rng.choice(["n-zdolnik", "a-kovalchuk"]),
            "identified_on": identified,
            "person": {
                "gender": rng.choice(GENDERS),
                "birth_year": rng.randrange(1960, 2008),
                "exploitation": rng.sample(KINDS, rng.choice([1, 1, 2])),
                "exploitation_countries": rng.sample(COUNTRIES, rng.choice([1, 1, 2])),
                "citizenship": "BY",
            },
            "consents": [
                {
                    "scope": "statistics",
                    "given": rng.random() < 0.8,
                    "by": "n-zdolnik",
                    "date": identified,
                }
            ],
        }
        closed = identified + timedelta(days=rng.randrange(30, 900))
        if closed < NOW.date() - timedelta(days=30) and rng.random() < 0.85:
            item["closed_on"] = closed
            item["outcome"] = rng.choice(["completed"] * 8 + ["cancelled", "terminated"])
            if item["outcome"] == "terminated":
                item["rule"] = "sobriety"
        out.append(item)
    return out


def import_all(url: str, key: Path, records: list[ImportRecord]) -> tuple[float, dict[str, int]]:
    """Seconds to import every record through the service, and what became of them."""
    directories = load_directories(EXAMPLES / "partners.yaml", EXAMPLES / "staff.yaml")
    store = open_store(url, key)
    done: dict[str, int] = {}
    try:
        started = time.perf_counter()
        numbered = list(enumerate(records, start=1))
        for result in importing.import_records(store, directories, numbered, by=None, now=NOW):
            what = "refused" if isinstance(result, list) else result
            done[what] = done.get(what, 0) + 1
        return time.perf_counter() - started, done
    finally:
        store.dispose()


def parse_all(text: str) -> tuple[float, list[ImportRecord]]:
    """Seconds to read the YAML and check every record, and the records."""
    started = time.perf_counter()
    parsed = [parse_record(raw, i) for i, raw in enumerate(read_records("bench", text), start=1)]
    seconds = time.perf_counter() - started
    records = [p for p in parsed if not isinstance(p, list)]
    bad: list[RecordIssue] = [i for p in parsed if isinstance(p, list) for i in p]
    assert not bad, bad[:3]
    return seconds, records


def cli_once(url: str, folder: Path, file: Path) -> float:
    """Seconds of one whole `rehab case import FILE` (process start included) into `url`."""
    env = {
        "REHAB_HOME": str(folder / "home"),
        "REHAB_DATABASE_URL": url,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flows", "case", "import", str(file)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    return seconds


def main() -> None:
    """Measure and print; write the figures to bench/results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    n = args.cases
    text = yaml.safe_dump(synthetic(n), allow_unicode=True, sort_keys=False)
    print(f"{n} synthetic earlier cases, {len(text) / 1e6:.1f} MB of YAML")
    parse_s, records = parse_all(text)
    print(f"read and check the file: {parse_s:.2f} s, {parse_s * 1000 / n:.3f} ms per case")
    header = ("database", "import s", "ms/case", "again s", "ms/case", "CLI s")
    print("{:<11} {:>9} {:>8} {:>8} {:>8} {:>7}".format(*header))
    for kind in args.databases:
        first, again, whole = [], [], []
        try:
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:
                    folder = Path(tmp)
                    with database(kind, folder) as url:
                        seconds, done = import_all(url, folder / "secret.key", records)
                        assert done == {"imported": n}, done
                        first.append(seconds)
                        seconds, done = import_all(url, folder / "secret.key", records)
                        assert done == {"already-there": n}, done
                        again.append(seconds)
                    with database(kind, folder, name="cli") as url:
                        file = folder / "earlier.yaml"
                        file.write_text(text)
                        whole.append(cli_once(url, folder, file))
        except Exception as exc:  # e.g. no PostgreSQL here: say so, measure the rest
            print(f"{kind:<11} skipped: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        figures = {
            "cases": n,
            "runs": args.runs,
            "parse_s": round(parse_s, 3),
            "parse_ms_per_case": round(parse_s * 1000 / n, 3),
            "import_s": median(first),
            "import_ms_per_case": round(median(first) * 1000 / n, 3),
            "again_s": median(again),
            "again_ms_per_case": round(median(again) * 1000 / n, 3),
            "cli_s": median(whole),
            "cli_ms_per_case": round(median(whole) * 1000 / n, 3),
        }
        print(
            f"{kind:<11} {figures['import_s']:>9.2f} {figures['import_ms_per_case']:>8.3f} "
            f"{figures['again_s']:>8.2f} {figures['again_ms_per_case']:>8.3f} "
            f"{figures['cli_s']:>7.1f}"
        )
        record(kind, {"import_cases": figures})


if __name__ == "__main__":
    main()
