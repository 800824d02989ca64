"""The shape of the code: packages depend one way (plans <- report <- casework <- notifications
<- flows), no module imports itself round a cycle, and the layers inside them hold: the domain
and the report import no database, Prefect or apprise; the store knows no service; services
never reach Prefect; the presenters are pure."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("plans", "report", "casework", "notifications", "flows")
INFRASTRUCTURE = ("sqlalchemy", "alembic", "prefect", "apprise", "httpx")
# Each folder, and what it may never import (at import time).
LAYERS = {
    "casework.domain": (*INFRASTRUCTURE, "casework.store", "casework.services", "notifications"),
    "casework.store": ("prefect", "apprise", "casework.services", "notifications", "flows"),
    "casework.services": ("prefect", "apprise", "httpx", "notifications", "flows"),
    "flows.shown": (
        *INFRASTRUCTURE,
        "casework.store",
        "casework.services",
        "flows.prefect",
        "flows.processes",
        "flows.app",
    ),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def top_level_imports(path: Path) -> set[str]:
    """What a module imports when it is imported: its own statements and those in top-level
    `if`/`try` blocks, not inside functions or classes, and not for type checks alone."""
    names: set[str] = set()
    pending = list(ast.parse(path.read_text()).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
            pending += node.body + node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody
            pending += [n for h in node.handlers for n in h.body]
    return names


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {i for i in top_level_imports(path) if i in known and i != name}
        for name, path in known.items()
    }


def test_no_module_imports_itself_round_a_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_packages_depend_one_way() -> None:
    rank = {package: i for i, package in enumerate(PACKAGES)}
    for module, imported in graph().items():
        for other in imported:
            assert rank[other.split(".")[0]] <= rank[module.split(".")[0]], (
                f"{module} imports {other}, against the layers"
            )


def inside(package: str, known: dict[str, Path]) -> list[str]:
    return [m for m in known if m == package or m.startswith(f"{package}.")]


def test_the_domain_and_the_report_import_no_database_prefect_or_apprise() -> None:
    known = modules()
    report = inside("report", known)
    assert len(report) > 5, "the report package is pure too"
    for module in report:
        for imported in top_level_imports(known[module]):
            assert not imported.startswith(INFRASTRUCTURE), f"{module} imports {imported}"
            assert not imported.startswith("casework"), f"{module} imports {imported}"


def test_each_layer_imports_nothing_it_must_not() -> None:
    known = modules()
    for layer, forbidden in LAYERS.items():
        members = inside(layer, known)
        assert len(members) > 3, f"{layer} holds its modules"
        for module in members:
            for imported in top_level_imports(known[module]):
                assert not imported.startswith(forbidden), f"{module} imports {imported}"


def test_every_module_lives_in_a_layer_folder() -> None:
    """casework/ and flows/ hold folders, and at the top only what wires them together."""
    top = {
        "casework",
        "flows",
        "flows.__main__",
        "flows.app",
        "flows.settings",
        "flows.runtime",
        "flows.clock",
        "flows.tending",
        "flows.showing",  # what a wake shows on its run, once part of tending
        "flows.erasing",  # a purge's Prefect and REHAB_HOME side, once part of tending
        "flows.plan_flow",
        "flows.decision_flow",
    }
    for module, path in modules().items():
        parts = module.split(".")
        if parts[0] in ("casework", "flows") and len(parts) == 2 and path.name != "__init__.py":
            assert module in top, f"{module} sits at the top of {parts[0]}/: put it in a layer"


def test_the_rehab_entry_point_imports_the_standard_library_alone() -> None:
    """`rehab` decides whether the running engine does the command before importing anything
    heavy (flows/engine_socket/client.py): a launch's process costs milliseconds."""
    probe = (
        "import sys, flows.engine_socket.client\n"
        "tops = {m.split('.')[0] for m in sys.modules if not m.startswith('_')}\n"
        "print(*sorted(tops - set(sys.stdlib_module_names)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["flows"], done.stdout  # (and the installer's own hooks)
