"""Nightly-ish purge of rows past their retention (BRIDGE_RETENTION_SECONDS, default 6 h)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge.domain.retention import RetentionPolicy, purge_expired


def retention_purge(session: Session, now: datetime) -> dict[str, Any]:
    """Purge expired audit events, idempotency records, job runs and notifications."""
    default = RetentionPolicy()
    policy = RetentionPolicy(
        audit_days=int(os.environ.get("BRIDGE_AUDIT_RETENTION_DAYS", default.audit_days)),
        job_run_days=int(os.environ.get("BRIDGE_JOB_RUN_RETENTION_DAYS", default.job_run_days)),
        notification_days=int(
            os.environ.get("BRIDGE_NOTIFICATION_RETENTION_DAYS", default.notification_days)
        ),
    )
    return purge_expired(session, now, policy)
