"""axe-core from the npm registry for the browser tests' accessibility checks: installed with
``npm ci`` from tests/browser/axe (its lock file) into .cache/axe, once per machine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "tests" / "browser" / "axe"
CACHE = REPO / ".cache" / "axe"
SERIOUS = ("critical", "serious")


def axe_script() -> Path:
    """The path of axe.min.js; the test is skipped where npm is missing."""
    script = CACHE / "node_modules" / "axe-core" / "axe.min.js"
    lock = SOURCE / "package-lock.json"
    stamp = CACHE / "package-lock.json"
    if script.is_file() and stamp.is_file() and stamp.read_bytes() == lock.read_bytes():
        return script
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: axe-core cannot be installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(SOURCE / name, CACHE / name)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=CACHE, check=True, timeout=300
    )
    return script


def with_axe(page: Any) -> None:
    """Load axe into every page ``page`` opens from now on (as an init script: the pages' own
    Content-Security-Policy rightly refuses an injected script tag)."""
    page.add_init_script(path=str(axe_script()))


def serious_violations(page: Any) -> list[str]:
    """axe's critical and serious violations on the page as it is now, one line each."""
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]
