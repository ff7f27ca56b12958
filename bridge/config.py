"""Configuration from the environment. Defaults suit the SQLite demo; production sets them all."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.domain.notifications.destinations import DestinationPolicy


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people paste and name the driver that is installed (psycopg2).

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which Bridge does not install.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def int_setting(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """A whole-number setting, refused at start (not at first use) when it is not one."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def endpoint_policy(config: Mapping[str, Any]) -> DestinationPolicy:
    """The delivery-endpoint allowance; a plain string (a test's config) is parsed too."""
    value = config.get("BRIDGE_ENDPOINT_ALLOWED_HOSTS")
    if isinstance(value, DestinationPolicy):
        return value
    return DestinationPolicy.parse(value or "")


def _allowed_hosts(env: Mapping[str, str]) -> DestinationPolicy:
    try:
        return DestinationPolicy.parse(env.get("BRIDGE_ENDPOINT_ALLOWED_HOSTS", ""))
    except ValueError as exc:
        raise ValueError(f"BRIDGE_ENDPOINT_ALLOWED_HOSTS: {exc}") from None


def from_environment(instance_path: str) -> dict[str, Any]:
    """Settings read from BRIDGE_* / standard environment variables."""
    default_db = "sqlite:///" + str(Path(instance_path) / "bridge-demo.sqlite3")
    env = os.environ
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(env.get("DATABASE_URL", default_db)),
        "SECRET_KEY": env.get("SECRET_KEY", "dev-only-not-secret"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "MAX_CONTENT_LENGTH": int(env.get("BRIDGE_MAX_BODY_BYTES", 1024 * 1024)),
        "BRIDGE_BASE_URL": env.get("BRIDGE_BASE_URL", "http://localhost:5000"),
        # How long a hospital department keeps sight of a patient after discharging them.
        "BRIDGE_TREATMENT_ACCESS_DAYS": int_setting(env, "BRIDGE_TREATMENT_ACCESS_DAYS", 30),
        # Registrations and care requests one staff member may make in 24 hours: each may tell
        # her that a CPR number is in Bridge, so probing must stay slow and visible.
        "BRIDGE_REGISTRATIONS_PER_DAY": int_setting(
            env, "BRIDGE_REGISTRATIONS_PER_DAY", 20, minimum=1
        ),
        # Working days within which a requested network meeting must be held.
        "BRIDGE_MEETING_HOLD_WORKING_DAYS": int_setting(
            env, "BRIDGE_MEETING_HOLD_WORKING_DAYS", 5, minimum=1
        ),
        # Hosts off the public internet that delivery endpoints may point at (tests, on-premises
        # receivers); none by default, so endpoints must be public HTTPS.
        "BRIDGE_ENDPOINT_ALLOWED_HOSTS": _allowed_hosts(env),
        # Failed API-token attempts one client address may make per window before it gets 429.
        "BRIDGE_TOKEN_FAILURE_LIMIT": int_setting(env, "BRIDGE_TOKEN_FAILURE_LIMIT", 20, minimum=1),
        "BRIDGE_TOKEN_FAILURE_WINDOW_SECONDS": int_setting(
            env, "BRIDGE_TOKEN_FAILURE_WINDOW_SECONDS", 60, minimum=1
        ),
        # MedCom messages carry their attachments inline (base64), so the inbound FHIR door
        # takes larger bodies than the rest of the API.
        "FHIR_MAX_BODY_BYTES": int_setting(
            env, "BRIDGE_FHIR_MAX_BODY_BYTES", 20 * 1024 * 1024, minimum=1
        ),
    }


DEFAULTS: dict[str, Any] = {
    "API_TITLE": "Bridge",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    # Swagger UI's assets are served by the app itself (from the swagger-ui-bundle package).
    "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
    # A database error's message carries the statement's parameters (CPR numbers, names) into
    # the logged traceback unless they are hidden.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "JSON_SORT_KEYS": False,
}
