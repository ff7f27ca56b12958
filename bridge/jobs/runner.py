"""Runs one job: app context, one transaction, and a lock so that one run happens at a time."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.domain.base import utcnow
from bridge.extensions import db

log = logging.getLogger("bridge.jobs")

Job = Callable[[Session, datetime], dict[str, Any]]


@dataclass(frozen=True)
class JobOutcome:
    name: str
    ran: bool  # False when another process held the lock
    summary: dict[str, Any]


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"bridge.job:{name}".encode()).digest()[:8], "big") - (
        1 << 63
    )


def try_job_lock(session: Session, name: str) -> bool:
    """Take the job's transaction-scoped advisory lock; False when another run holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite (the demo) has one process and serialises writers anyway
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(_lock_key(name)))))


def run_job(
    app: Flask, name: str, job: Job, now: datetime | None = None, *, lock: bool = True
) -> JobOutcome:
    """Run ``job`` once in its own transaction; commit on success, roll back on error.

    ``lock=False`` is for jobs that are safe to run concurrently and must be (the notification
    dispatcher, whose rows are claimed with SKIP LOCKED): they skip the advisory lock.
    """
    with app.app_context():
        session = db.session
        try:
            if lock and not try_job_lock(session, name):
                session.rollback()
                log.info("job %s skipped: another run holds the lock", name)
                return JobOutcome(name=name, ran=False, summary={})
            summary = job(session, now or utcnow())
            session.commit()
            log.info("job %s done: %s", name, summary)
            return JobOutcome(name=name, ran=True, summary=summary)
        except Exception:
            session.rollback()
            log.exception("job %s failed", name)
            raise
        finally:
            db.session.remove()
