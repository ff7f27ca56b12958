"""Configuration from the environment. Defaults suit the SQLite demo; production sets them all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people paste and name the driver that is installed (psycopg2).

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which Bridge does not install.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


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
        # MedCom messages carry their attachments inline (base64), so the inbound FHIR door
        # takes larger bodies than the rest of the API.
        "FHIR_MAX_BODY_BYTES": int(env.get("BRIDGE_FHIR_MAX_BODY_BYTES", 20 * 1024 * 1024)),
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
