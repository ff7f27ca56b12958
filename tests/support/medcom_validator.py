"""MedCom's profile validator (../shared/tools/medcom-validate), run from the test suite.

The tool lies beside the repository, not in it: ``BRIDGE_SHARED_DIR`` names the shared folder,
else ``<repo>/../shared``. A clone without it skips these tests; CI has it. The validator's
node modules are installed on first use with ``npm ci`` into ``.cache/medcom-validate`` in
the repository (the tool finds them through ``NODE_PATH``), unless the tool's folder has its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "medcom-validate"


def shared_dir() -> Path:
    configured = os.environ.get("BRIDGE_SHARED_DIR")
    return Path(configured) if configured else REPO.parent / "shared"


@dataclass(frozen=True)
class Validator:
    tool: Path
    node_path: Path

    def _env(self) -> dict[str, str]:
        return {**os.environ, "NODE_PATH": str(self.node_path)}

    def _node(self) -> list[str]:
        major = int(
            subprocess.run(
                ["node", "-p", "process.versions.node.split('.')[0]"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        # Node 20 needs the flag because Medplum touches WebSocket when it loads.
        return ["node", "--experimental-websocket"] if major < 22 else ["node"]

    def validate(self, folder: Path) -> list[dict[str, Any]]:
        """One report per Bundle in ``folder`` (the tool's ``--json`` output)."""
        run = subprocess.run(
            [*self._node(), str(self.tool / "medcom-validate.cjs"), "--json", str(folder)],
            capture_output=True,
            text=True,
            env=self._env(),
            timeout=300,
        )
        if run.returncode not in (0, 1):
            raise AssertionError(f"validator failed to run: {run.stderr[-2000:]}")
        return json.loads(run.stdout)

    def selftest(self) -> subprocess.CompletedProcess[str]:
        env = {**self._env(), "NODE": "node"}
        return subprocess.run(
            ["python3", str(self.tool / "selftest.py")],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.tool,
            timeout=600,
        )


def errors(reports: list[dict[str, Any]]) -> list[str]:
    """Every issue of severity error, as readable lines for an assertion message."""
    return [
        f"{Path(r['file']).name}: {i['location']}: {i['message']} [{i.get('rule')}]"
        for r in reports
        for i in r["issues"]
        if i["severity"] == "error"
    ]


def _install(tool: Path) -> Path:
    """The node_modules folder the validator runs with, installed with ``npm ci`` if missing."""
    if (tool / "node_modules" / "@medplum" / "core").is_dir():
        return tool / "node_modules"
    # Never into the tool's folder: shared material is read-only (its mode says so, even
    # where root could write it).
    target = CACHE
    modules = target / "node_modules"
    lock = (tool / "package-lock.json").read_bytes()
    stamp = target / ".lock-installed"
    if (modules / "@medplum" / "core").is_dir() and (stamp.exists() and stamp.read_bytes() == lock):
        return modules
    target.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(tool / name, target / name)
    run = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if run.returncode != 0:
        raise AssertionError(f"npm ci for the MedCom validator failed: {run.stderr[-2000:]}")
    stamp.write_bytes(lock)
    return modules


def get_validator() -> Validator:
    """The installed validator, or a skip when the shared folder or node is absent."""
    tool = shared_dir() / "tools" / "medcom-validate"
    if not (tool / "medcom-validate.cjs").is_file():
        pytest.skip(f"MedCom validator not found at {tool} (set BRIDGE_SHARED_DIR)")
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the MedCom validator")
    return Validator(tool=tool, node_path=_install(tool))
