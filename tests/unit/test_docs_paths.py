"""The docs name only what exists: every path into the code (`casework/...`, `flows/...`,
`plans/...`, `notifications/...`, `report/...`, `bench/...`, `docs/...`) and every module named
with dots (`flows.processes.serve`, `report.who.Who`) that README.md and docs/*.md mention is
in the tree, with the name after a module's file (`flows/cli/context.case_code`) defined in
it; and every relative link, with its anchor, leads somewhere. So a move or a rename that
forgets the docs fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

PREFIXES = ("casework", "flows", "plans", "notifications", "report", "bench", "docs")
# Not `tests/`: the test files are being regrouped, and the docs name them as evidence only.
PATH = re.compile(rf"(?<![\w./~-])((?:{'|'.join(PREFIXES)})/[\w./*-]*)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
DOTTED = re.compile(rf"(?<![\w./-])((?:{'|'.join(PREFIXES[:5])})(?:\.\w+)+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FILE_SUFFIXES = {"md", "py", "yaml", "yml", "json", "csv", "html", "png", "log", "eml", "toml"}


def documents() -> list[Path]:
    """The pages the checks read: the README and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def defined_names(module: Path) -> set[str]:
    """Every name a module binds at its top level or inside its classes."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
            names |= {t.attr for t in targets if isinstance(t, ast.Attribute)}
    return names


def module_file(parts: list[str]) -> Path | None:
    """The file of the module `parts` names (a package's `__init__.py`), if there is one."""
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def missing_path(path: str) -> str | None:
    """Why a path named in the docs does not resolve, or None if it does."""
    path = path.split("#", maxsplit=1)[0].rstrip(".,:;")
    if "*" in path:
        return None if any(ROOT.glob(path)) else "matches no file"
    if (ROOT / path).exists():
        return None
    head, dot, name = path.rpartition(".")
    if dot and name not in FILE_SUFFIXES and (ROOT / f"{head}.py").is_file():
        if name in defined_names(ROOT / f"{head}.py"):
            return None
        return f"{head}.py defines no {name}"
    return "no such file or folder"


def missing_module(dotted: str) -> str | None:
    """Why `a.b.c` names no module (and no name defined in one), or None if it does."""
    parts = dotted.split(".")
    if parts[-1] in FILE_SUFFIXES:
        return None  # a file's name, such as report.md
    for cut in range(len(parts), 0, -1):
        found = module_file(parts[:cut])
        if found is not None:
            rest = parts[cut:]
            if not rest or rest[0] in defined_names(found):
                return None
            return f"{found.relative_to(ROOT)} defines no {rest[0]}"
    return "no such module"


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a markdown page's headings."""
    lines = page.read_text().splitlines()
    return {slug(line.lstrip("#")) for line in lines if line.startswith("#")}


def missing_link(page: Path, target: str) -> str | None:
    """Why a relative link of `page` leads nowhere, or None if it leads somewhere."""
    if re.match(r"^[a-z]+:", target):
        return None  # http:, mailto:
    file, _, anchor = target.partition("#")
    dest = (page.parent / file) if file else page
    if not dest.exists():
        return "no such file"
    if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
        return f"no heading #{anchor} in {dest.relative_to(ROOT)}"
    return None


def problems(page: Path, text: str | None = None) -> list[str]:
    """Every path, module and link of one page (its `text`, else the file's) that does not
    resolve, with its line."""
    found = []
    lines = (page.read_text() if text is None else text).splitlines()
    for number, line in enumerate(lines, 1):
        where = f"{page.relative_to(ROOT)}:{number}"
        for path in PATH.findall(line):
            why = missing_path(path)
            if why:
                found.append(f"{where}: {path}: {why}")
        for span in CODE_SPAN.findall(line):
            for dotted in DOTTED.findall(span):
                why = missing_module(dotted)
                if why:
                    found.append(f"{where}: {dotted}: {why}")
        for target in LINK.findall(line):
            why = missing_link(page, target)
            if why:
                found.append(f"{where}: {target}: {why}")
    return found


def test_every_path_module_and_link_the_docs_name_exists() -> None:
    found = [p for page in documents() for p in problems(page)]
    assert not found, "the docs name what is not there:\n" + "\n".join(found)


def test_the_docs_name_many_paths() -> None:
    """The checks above read what the docs say: hundreds of paths, not none."""
    named = [p for page in documents() for p in PATH.findall(page.read_text())]
    assert len(named) > 100


def test_a_moved_module_is_caught() -> None:
    page = ROOT / "docs" / "moved-module-check.md"  # never written: its links resolve from docs/
    text = (
        "The wake (`flows/tending.py`, `flows/waking.py`), `flows/cli/context.case_code`,\n"
        "`flows/cli/context.no_such_name`, `casework.services.quarantine`, `casework.messages`,\n"
        "[the layers](architecture.md#the-code-packages-and-their-layers),\n"
        "[gone](architecture.md#gone)\n"
    )
    assert problems(page, text) == [
        "docs/moved-module-check.md:1: flows/waking.py: no such file or folder",
        "docs/moved-module-check.md:2: flows/cli/context.no_such_name: "
        "flows/cli/context.py defines no no_such_name",
        "docs/moved-module-check.md:2: casework.messages: casework/__init__.py defines no messages",
        "docs/moved-module-check.md:4: architecture.md#gone: "
        "no heading #gone in docs/architecture.md",
    ]
