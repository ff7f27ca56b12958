"""The purge of rows past their retention, as a scheduled job (BRIDGE_RETENTION_SECONDS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge.domain.retention import RetentionPolicy, purge_expired


def retention_purge(session: Session, now: datetime, *, policy: RetentionPolicy) -> dict[str, Any]:
    """Purge expired audit events, idempotency records, job runs and notifications."""
    return purge_expired(session, now, policy)
