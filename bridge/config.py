"""Bridge's settings: one typed object, read once from the environment and checked at start.

Every setting Bridge reads is a field of ``Settings`` below, named after its environment
variable; nothing else in the code reads the environment (a test holds the README's table and
this class to the same names). A bad value stops the process at start with a message naming the
setting, rather than failing the first request or job that needs it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, get_type_hints

from flask import Flask, current_app

from bridge.domain.gaps.engine import GapConfig
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.destinations import DestinationPolicy
from bridge.domain.retention import RetentionPolicy

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """One or more settings are missing or malformed; the message names each."""


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people paste and name the driver that is installed (psycopg 3).

    SQLAlchemy 2.0 maps a bare ``postgresql://`` to psycopg2, 2.1 to psycopg 3: name it.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def setting(env: str, default: Any = None, *, minimum: float | None = None) -> Any:
    """A field of ``Settings`` read from environment variable ``env``."""
    return field(default=default, metadata={"env": env, "minimum": minimum})


@dataclass(frozen=True)
class Settings:
    # The database; empty means the SQLite demo file in the instance folder.
    DATABASE_URL: str = setting("DATABASE_URL", "")
    SECRET_KEY: str = setting("SECRET_KEY", "dev-only-not-secret")
    LOG_LEVEL: str = setting("LOG_LEVEL", "INFO")
    BRIDGE_MAX_BODY_BYTES: int = setting("BRIDGE_MAX_BODY_BYTES", 1024 * 1024, minimum=1)
    BRIDGE_BASE_URL: str = setting("BRIDGE_BASE_URL", "http://localhost:5000")
    # MedCom messages carry their attachments inline (base64), so the inbound FHIR door
    # takes larger bodies than the rest of the API.
    BRIDGE_FHIR_MAX_BODY_BYTES: int = setting(
        "BRIDGE_FHIR_MAX_BODY_BYTES", 20 * 1024 * 1024, minimum=1
    )
    # How long a hospital department keeps sight of a patient after discharging them.
    BRIDGE_TREATMENT_ACCESS_DAYS: int = setting("BRIDGE_TREATMENT_ACCESS_DAYS", 30, minimum=0)
    # Registrations and care requests one staff member may make in 24 hours: each may tell
    # her that a CPR number is in Bridge, so probing must stay slow and visible.
    BRIDGE_REGISTRATIONS_PER_DAY: int = setting("BRIDGE_REGISTRATIONS_PER_DAY", 20, minimum=1)
    BRIDGE_MEETING_HOLD_WORKING_DAYS: int = setting(
        "BRIDGE_MEETING_HOLD_WORKING_DAYS", 5, minimum=1
    )
    # Hosts off the public internet that delivery endpoints may point at (tests, on-premises
    # receivers); none by default, so endpoints must be public HTTPS.
    BRIDGE_ENDPOINT_ALLOWED_HOSTS: DestinationPolicy = field(
        default_factory=DestinationPolicy,
        metadata={"env": "BRIDGE_ENDPOINT_ALLOWED_HOSTS", "minimum": None},
    )
    BRIDGE_TOKEN_FAILURE_LIMIT: int = setting("BRIDGE_TOKEN_FAILURE_LIMIT", 20, minimum=1)
    BRIDGE_TOKEN_FAILURE_WINDOW_SECONDS: int = setting(
        "BRIDGE_TOKEN_FAILURE_WINDOW_SECONDS", 60, minimum=1
    )
    # The gap rules' thresholds: local agreements, so settable (a region's own rules, from
    # /regions/{id}/rules, take precedence for its patients).
    BRIDGE_GAP_GP_ACK_WORKING_DAYS: int = setting("BRIDGE_GAP_GP_ACK_WORKING_DAYS", 2, minimum=1)
    BRIDGE_GAP_MINUTES_FINALISE_WORKING_DAYS: int = setting(
        "BRIDGE_GAP_MINUTES_FINALISE_WORKING_DAYS", 3, minimum=1
    )
    BRIDGE_GAP_MEETING_INTERVAL_DAYS: int = setting(
        "BRIDGE_GAP_MEETING_INTERVAL_DAYS", 90, minimum=1
    )
    BRIDGE_GAP_SCREENING_MONTHS: int = setting("BRIDGE_GAP_SCREENING_MONTHS", 12, minimum=1)
    BRIDGE_GAP_READMISSION_FLAG_DAYS: int = setting(
        "BRIDGE_GAP_READMISSION_FLAG_DAYS", 30, minimum=1
    )
    # The scheduler's intervals, in seconds.
    BRIDGE_GAP_SCAN_SECONDS: int = setting("BRIDGE_GAP_SCAN_SECONDS", 300, minimum=1)
    BRIDGE_REMINDER_SECONDS: int = setting("BRIDGE_REMINDER_SECONDS", 3600, minimum=1)
    BRIDGE_RETENTION_SECONDS: int = setting("BRIDGE_RETENTION_SECONDS", 6 * 3600, minimum=1)
    NOTIFY_DISPATCH_SECONDS: int = setting("NOTIFY_DISPATCH_SECONDS", 2, minimum=1)
    BRIDGE_OVERVIEW_SECONDS: int = setting("BRIDGE_OVERVIEW_SECONDS", 900, minimum=1)
    # Retention of the records Bridge keeps about itself, in days.
    BRIDGE_AUDIT_RETENTION_DAYS: int = setting(
        "BRIDGE_AUDIT_RETENTION_DAYS", RetentionPolicy().audit_days, minimum=1
    )
    BRIDGE_JOB_RUN_RETENTION_DAYS: int = setting(
        "BRIDGE_JOB_RUN_RETENTION_DAYS", RetentionPolicy().job_run_days, minimum=1
    )
    BRIDGE_NOTIFICATION_RETENTION_DAYS: int = setting(
        "BRIDGE_NOTIFICATION_RETENTION_DAYS", RetentionPolicy().notification_days, minimum=1
    )
    # The dispatcher.
    NOTIFY_BATCH_SIZE: int = setting("NOTIFY_BATCH_SIZE", 100, minimum=1)
    NOTIFY_MAX_AGE_HOURS: float = setting("NOTIFY_MAX_AGE_HOURS", 24.0, minimum=0.01)
    NOTIFY_LEASE_SECONDS: float = setting("NOTIFY_LEASE_SECONDS", 300.0, minimum=1)
    NOTIFY_HTTP_TIMEOUT_SECONDS: float = setting("NOTIFY_HTTP_TIMEOUT_SECONDS", 10.0, minimum=0.1)
    # Who Bridge is on the MedCom network.
    MEDCOM_SENDER_NAME: str = setting("MEDCOM_SENDER_NAME", "Bridge")
    MEDCOM_SENDER_SOR: str | None = setting("MEDCOM_SENDER_SOR", None)
    MEDCOM_SENDER_GLN: str | None = setting("MEDCOM_SENDER_GLN", None)
    MEDCOM_SENDER_PHONE: str | None = setting("MEDCOM_SENDER_PHONE", None)
    # E-mail notifications.
    MAIL_FROM: str = setting("MAIL_FROM", "bridge@localhost")
    SMTP_HOST: str = setting("SMTP_HOST", "localhost")
    SMTP_PORT: int = setting("SMTP_PORT", 25, minimum=1)
    SMTP_STARTTLS: bool = setting("SMTP_STARTTLS", False)
    SMTP_USERNAME: str | None = setting("SMTP_USERNAME", None)
    SMTP_PASSWORD: str | None = setting("SMTP_PASSWORD", None)
    # Unset: cookies only over HTTPS, except under --debug and in tests.
    SESSION_COOKIE_SECURE: bool | None = setting("SESSION_COOKIE_SECURE", None)
    # gunicorn (bridge/gunicorn_conf.py); 0 workers means two per core.
    BIND: str = setting("BIND", "0.0.0.0:8000")
    WEB_CONCURRENCY: int = setting("WEB_CONCURRENCY", 0, minimum=0)

    @classmethod
    def names(cls) -> list[str]:
        """Every environment variable Bridge reads."""
        return [f.metadata["env"] for f in dataclasses.fields(cls)]

    @classmethod
    def load(cls, env: Mapping[str, Any]) -> Settings:
        """Settings from ``env`` (the environment, or a test's overrides); every bad value is
        reported at once, each by name."""
        return cls().with_values(env)

    def with_values(self, values: Mapping[str, Any]) -> Settings:
        """A copy with the named settings replaced; strings are parsed as the environment's,
        typed values (a test's) are checked the same way."""
        hints = get_type_hints(type(self))
        changes: dict[str, Any] = {}
        problems: list[str] = []
        for f in dataclasses.fields(self):
            name = f.metadata["env"]
            if name not in values:
                continue
            try:
                changes[f.name] = _parse(name, values[name], hints[f.name], f.metadata["minimum"])
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise SettingsError("; ".join(problems))
        settings = dataclasses.replace(self, **changes)
        settings._check()
        return settings

    def _check(self) -> None:
        if self.LOG_LEVEL not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if not self.BRIDGE_BASE_URL.startswith(("http://", "https://")):
            raise SettingsError("BRIDGE_BASE_URL must be an http:// or https:// URL")
        if bool(self.MEDCOM_SENDER_SOR) != bool(self.MEDCOM_SENDER_GLN):
            raise SettingsError(
                "MEDCOM_SENDER_SOR and MEDCOM_SENDER_GLN are set together or not at all"
            )

    # What the settings mean to the parts that use them.

    def database_uri(self, instance_path: str) -> str:
        if not self.DATABASE_URL:
            return "sqlite:///" + str(Path(instance_path) / "bridge-demo.sqlite3")
        return normalise_database_url(self.DATABASE_URL)

    def retry_policy(self) -> RetryPolicy:
        """How long the dispatcher (and an acknowledgement's resend) keeps trying a message."""
        return RetryPolicy(max_age=timedelta(hours=self.NOTIFY_MAX_AGE_HOURS))

    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            audit_days=self.BRIDGE_AUDIT_RETENTION_DAYS,
            job_run_days=self.BRIDGE_JOB_RUN_RETENTION_DAYS,
            notification_days=self.BRIDGE_NOTIFICATION_RETENTION_DAYS,
        )

    def gap_config(self) -> GapConfig:
        return GapConfig(
            gp_ack_working_days=self.BRIDGE_GAP_GP_ACK_WORKING_DAYS,
            minutes_finalise_working_days=self.BRIDGE_GAP_MINUTES_FINALISE_WORKING_DAYS,
            meeting_interval_days=self.BRIDGE_GAP_MEETING_INTERVAL_DAYS,
            screening_months=self.BRIDGE_GAP_SCREENING_MONTHS,
            meeting_request_working_days=self.BRIDGE_MEETING_HOLD_WORKING_DAYS,
            readmission_flag_days=self.BRIDGE_GAP_READMISSION_FLAG_DAYS,
        )

    def gunicorn_workers(self) -> int:
        return self.WEB_CONCURRENCY or 2 * (os.cpu_count() or 1)


def _parse(name: str, raw: Any, kind: Any, minimum: float | None) -> Any:
    optional = "None" in str(kind)
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "" and optional:
            return None
    if raw is None:
        if optional:
            return None
        raise ValueError(f"{name} must be set")
    if kind is DestinationPolicy:
        if isinstance(raw, DestinationPolicy):
            return raw
        try:
            return DestinationPolicy.parse(str(raw))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    if kind in (bool, bool | None):
        if isinstance(raw, bool):
            return raw
        word = str(raw).lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name} must be true or false, not {raw!r}")
    if kind in (int, float):
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            what = "a whole number" if kind is int else "a number"
            raise ValueError(f"{name} must be {what}, not {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ValueError(f"{name} must be at least {minimum:g}, not {value}")
        return value
    return str(raw)


def settings_of(app: Flask) -> Settings:
    """The settings ``create_app`` gave ``app``."""
    settings: Settings = app.extensions["bridge.settings"]
    return settings


def current_settings() -> Settings:
    """The settings of the app handling this request, command or job."""
    return settings_of(current_app)


def from_environment() -> Settings:
    """The settings of this process. The one place Bridge reads its environment."""
    return Settings.load(os.environ)


# Flask's own keys that do not vary by deployment.
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
    # the logged traceback unless they are hidden. No pre-ping: bridge.pool replaces a dead
    # connection at checkout from its socket's state, without a round trip per request.
    "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
    "JSON_SORT_KEYS": False,
}


def flask_config(settings: Settings, instance_path: str) -> dict[str, Any]:
    """The Flask and extension keys the settings decide."""
    return {
        "SQLALCHEMY_DATABASE_URI": settings.database_uri(instance_path),
        "SECRET_KEY": settings.SECRET_KEY,
        "MAX_CONTENT_LENGTH": settings.BRIDGE_MAX_BODY_BYTES,
    }
