"""Bridge's settings: one typed object read from the environment in one module, every setting in
the README's table and nowhere else, checked at start."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import bridge
from bridge.config import Settings, SettingsError

ROOT = Path(bridge.__file__).parent
REPO = ROOT.parent


def _readme_settings() -> set[str]:
    """The names in the README's configuration table (the one headed `variable`)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("| variable | meaning | default |", 1)[1].split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        first_cell = row.split("|")[1]
        names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_the_readme_lists_every_setting_and_no_other():
    readme = _readme_settings()
    code = set(Settings.names())
    assert code - readme == set(), "settings missing from the README's table"
    assert readme - code == set(), "the README names settings the code does not read"


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id == "os":
                    readers.append(str(path.relative_to(REPO)))
    assert sorted(set(readers)) == ["bridge/config.py"]


def test_docker_compose_sets_only_settings_bridge_reads_and_those_a_deployment_needs():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    known = set(Settings.names())
    for name, service in compose["services"].items():
        if name == "db":
            continue
        environment = service.get("environment", {})
        assert set(environment) <= known, name
        for needed in ("DATABASE_URL", "SECRET_KEY", "BRIDGE_BASE_URL"):
            assert needed in environment, (name, needed)
    scheduler = compose["services"]["scheduler"]["environment"]
    for needed in ("MEDCOM_SENDER_SOR", "MEDCOM_SENDER_GLN", "SMTP_HOST", "MAIL_FROM"):
        assert needed in scheduler, needed


def test_every_bad_value_is_reported_by_name_at_once():
    with pytest.raises(SettingsError) as refused:
        Settings.load(
            {
                "SMTP_PORT": "smtp",
                "NOTIFY_MAX_AGE_HOURS": "-1",
                "SMTP_STARTTLS": "maybe",
                "BRIDGE_ENDPOINT_ALLOWED_HOSTS": "not a host!",
            }
        )
    message = str(refused.value)
    for name in (
        "SMTP_PORT",
        "NOTIFY_MAX_AGE_HOURS",
        "SMTP_STARTTLS",
        "BRIDGE_ENDPOINT_ALLOWED_HOSTS",
    ):
        assert name in message


@pytest.mark.parametrize(
    "values, named",
    [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"BRIDGE_BASE_URL": "bridge.example"}, "BRIDGE_BASE_URL"),
        ({"MEDCOM_SENDER_SOR": "123456789012345"}, "MEDCOM_SENDER_GLN"),
    ],
)
def test_values_that_cannot_work_together_are_refused(values, named):
    with pytest.raises(SettingsError, match=named):
        Settings.load(values)


def test_typed_values_and_their_meaning():
    settings = Settings.load(
        {
            "NOTIFY_MAX_AGE_HOURS": "2.5",
            "SMTP_STARTTLS": "on",
            "SMTP_USERNAME": "",
            "BRIDGE_GAP_GP_ACK_WORKING_DAYS": "4",
            "BRIDGE_JOB_RUN_RETENTION_DAYS": "10",
        }
    )
    assert settings.retry_policy().max_age.total_seconds() == 2.5 * 3600
    assert settings.SMTP_STARTTLS is True
    assert settings.SMTP_USERNAME is None
    assert settings.gap_config().gp_ack_working_days == 4
    assert settings.retention_policy().job_run_days == 10


def test_the_command_stops_at_start_naming_the_bad_setting(tmp_path):
    env = {**os.environ, "BRIDGE_TREATMENT_ACCESS_DAYS": "a month"}
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "routes"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "BRIDGE_TREATMENT_ACCESS_DAYS must be a whole number" in done.stderr
    assert "Traceback" not in done.stderr
