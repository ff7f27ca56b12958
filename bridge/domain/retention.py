"""Retention: rows past their keeping period are purged in bounded batches, so one run never
holds long locks on a table the service writes to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bridge.domain.audit import AuditEvent
from bridge.domain.auth.throttle import TokenFailure
from bridge.domain.base import affected_rows
from bridge.domain.idempotency import RETENTION as IDEMPOTENCY_RETENTION
from bridge.domain.idempotency import IdempotencyRecord
from bridge.domain.jobruns import JobRun
from bridge.domain.notifications.models import Notification


@dataclass(frozen=True)
class RetentionPolicy:
    # The audit log is the patient's record of who looked; keep it long (configurable).
    audit_days: int = 365 * 5
    job_run_days: int = 90
    notification_days: int = 365
    batch_size: int = 5000
    max_batches: int = 20


# table -> (model, its timestamp column, the policy attribute or a fixed period)
_TARGETS: list[tuple[str, Any, Any, str | timedelta]] = [
    ("audit_event", AuditEvent, AuditEvent.occurred_at, "audit_days"),
    ("idempotency_record", IdempotencyRecord, IdempotencyRecord.created_at, IDEMPOTENCY_RETENTION),
    ("job_run", JobRun, JobRun.started_at, "job_run_days"),
    # Long past any retry or acknowledgement window; the distribution keeps the receipt.
    ("notification", Notification, Notification.created_at, "notification_days"),
]


def purge_expired(
    session: Session, now: datetime, policy: RetentionPolicy | None = None
) -> dict[str, int]:
    """Delete rows older than their period, at most ``batch_size`` per statement."""
    policy = policy or RetentionPolicy()
    summary: dict[str, int] = {}
    for name, model, column, period in _TARGETS:
        keep = period if isinstance(period, timedelta) else timedelta(days=getattr(policy, period))
        cutoff = now - keep
        total = 0
        for _ in range(policy.max_batches):
            ids = select(model.id).where(column < cutoff).limit(policy.batch_size)
            deleted = affected_rows(
                session.execute(
                    delete(model)
                    .where(model.id.in_(ids.scalar_subquery()))
                    .execution_options(synchronize_session=False)
                )
            )
            total += deleted
            if deleted < policy.batch_size:
                break
        summary[name] = total
    # One row per client address, reset in place by its next failure: a day-old row only
    # remembers an address that stopped trying.
    summary["token_failure"] = affected_rows(
        session.execute(
            delete(TokenFailure).where(TokenFailure.window_start < now - timedelta(days=1))
        )
    )
    return summary
