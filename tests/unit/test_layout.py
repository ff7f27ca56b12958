"""The codebase's shape: small modules, and a domain that holds rules and models only.

See issue 14: a module of one purpose fits in ~500 lines, and the HTTP/SMTP transports, the FHIR
codec and the PDF renderer are adapters (``bridge/adapters``, ``bridge/documents``) that
``bridge/domain`` never imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parents[2] / "bridge"
MAX_LINES = 500

# Known debts: modules allowed over the limit until they are split. Each entry makes the test
# fail once the module shrinks, so it is removed with the fix. None are left.
OVERSIZED: set[str] = set()

FORBIDDEN_IN_DOMAIN = (
    "flask",
    "flask_smorest",
    "marshmallow",
    "requests",
    "urllib3",
    "http.client",
    "smtplib",
    "fhir.resources",
    "weasyprint",
    "bridge.adapters",
    "bridge.documents",
    "bridge.api",
    "bridge.web",
    "bridge.jobs",
)


def _modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(BRIDGE).as_posix()


@pytest.mark.parametrize("path", _modules(BRIDGE), ids=_name)
def test_no_module_in_bridge_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if _name(path) in OVERSIZED:
        assert lines > MAX_LINES, f"{_name(path)} fits now: take it off OVERSIZED"
    else:
        assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines; split it by purpose"


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN_IN_DOMAIN)


@pytest.mark.parametrize("path", _modules(BRIDGE / "domain"), ids=_name)
def test_the_domain_imports_no_framework_transport_or_codec(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [m for m in _imported(tree) if _forbidden(m)]
    assert not bad, f"{_name(path)} imports {bad}: infrastructure belongs in bridge/adapters"


def test_the_import_check_sees_a_forbidden_import() -> None:
    tree = ast.parse("import smtplib\nfrom fhir.resources.R4B.bundle import Bundle\n")
    assert [m for m in _imported(tree) if _forbidden(m)] == ["smtplib", "fhir.resources.R4B.bundle"]


def test_tests_share_helpers_through_the_support_package_only() -> None:
    """A test module imports helpers from tests.support (or the factories plugin), never from
    another test module or a conftest."""
    tests_dir = Path(__file__).resolve().parents[1]
    offenders = []
    for path in tests_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests."):
                module = node.module or ""
                if not module.startswith(("tests.support", "tests.factories")):
                    offenders.append(f"{path.relative_to(tests_dir)}: {module}")
    assert offenders == []
