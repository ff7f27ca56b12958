"""The wiring is explicit: no import cycles in bridge (deferred imports counted, so none can hide
one), no import kept for its side effect, and the areas depend on each other one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bridge

ROOT = Path(bridge.__file__).parent


def _modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The bridge modules ``module`` imports anywhere (top level or inside a function), except
    under ``if TYPE_CHECKING``; ``from package import name`` is the submodule if there is one."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if _type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(filter(None, (resolve(a.name) for a in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.update(filter(None, [target if target in modules else resolve(base)]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(m, p, modules) for m, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_cycle_finder_finds_a_cycle_through_a_deferred_import():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_bridge_has_no_import_cycles_even_through_deferred_imports():
    graph = _graph()
    assert graph.get("bridge.bootstrap")
    assert _cycles(graph) == []


def test_no_import_is_kept_only_for_its_side_effect():
    kept = [
        f"{path.relative_to(ROOT.parent)}:{n}"
        for path in sorted(ROOT.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"noqa:[^#]*F401", line)
    ]
    assert kept == []


def test_outcomes_flow_one_way_from_notifications_to_the_areas_that_send():
    graph = _graph()
    notifications = {m for m in graph if m.startswith("bridge.domain.notifications")}
    reaches = {t for m in notifications for t in graph[m]}
    assert not {t for t in reaches if t.startswith("bridge.domain.meetings")}


def test_the_domain_imports_nothing_outside_it_and_only_the_cli_reaches_the_sample_data():
    graph = _graph()
    outside = {
        (m, t)
        for m, deps in graph.items()
        if m.startswith("bridge.domain")
        for t in deps
        if not t.startswith("bridge.domain")
    }
    assert outside == set()
    users = {
        m
        for m, deps in graph.items()
        if not m.startswith("bridge.sampledata")
        and any(t.startswith("bridge.sampledata") for t in deps)
    }
    assert users == {"bridge.cli"}
