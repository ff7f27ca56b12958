"""Runs one job: app context, one transaction, a lock so one run happens at a time, and a
JobRun row recording what happened."""

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

from bridge.domain.base import plan_for_each_run, utcnow
from bridge.domain.jobruns import JobRun
from bridge.extensions import db
from bridge.unit_of_work import UnitOfWork

log = logging.getLogger("bridge.jobs")

Job = Callable[[Session, datetime], dict[str, Any]]


@dataclass(frozen=True)
class JobOutcome:
    name: str
    ran: bool  # False when another process held the lock
    summary: dict[str, Any]


def _lock_key(name: str) -> int:
    digest = hashlib.sha256(f"bridge.job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") - (1 << 63)


def try_job_lock(session: Session, name: str) -> bool:
    """Take the job's transaction-scoped advisory lock; False when another run holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite (the demo) has one process and serialises writers anyway
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(_lock_key(name)))))


def execute_job(
    session: Session, name: str, job: Job, now: datetime, *, lock: bool = True
) -> JobOutcome:
    """Run ``job`` in the session's transaction, recording the run; the caller commits.

    A locked job that finds its lock taken is recorded as skipped and does nothing.
    ``lock=False`` is for jobs that are safe to run concurrently and must be (the notification
    dispatcher, whose rows are claimed with SKIP LOCKED); their runs are recorded only when they
    did something, so a dispatcher polling every few seconds does not flood the record.
    """
    started = utcnow()
    if lock and not try_job_lock(session, name):
        session.add(JobRun(job=name, started_at=started, finished_at=utcnow(), status="skipped"))
        return JobOutcome(name=name, ran=False, summary={})
    if lock:
        # The locked jobs scan and count whole tables; the dispatcher's small, frequent claims
        # keep the prepared plans.
        plan_for_each_run(session)
    summary = job(session, now)
    if lock or any(summary.values()):
        session.add(
            JobRun(job=name, started_at=started, finished_at=utcnow(), status="ok", summary=summary)
        )
    return JobOutcome(name=name, ran=True, summary=summary)


def run_job(
    app: Flask, name: str, job: Job, now: datetime | None = None, *, lock: bool = True
) -> JobOutcome:
    """Run ``job`` once in its own transaction; commit on success, roll back on error and
    record the failure."""
    with app.app_context():
        session = db.session()
        started = utcnow()
        try:
            with UnitOfWork(session):
                outcome = execute_job(session, name, job, now or utcnow(), lock=lock)
            log.info("job %s %s", name, "done" if outcome.ran else "skipped: lock held")
            return outcome
        except Exception as exc:
            log.exception("job %s failed", name)
            with UnitOfWork(session):
                session.add(
                    JobRun(
                        job=name,
                        started_at=started,
                        finished_at=utcnow(),
                        status="failed",
                        error=type(exc).__name__,
                    )
                )
            raise
        finally:
            db.session.remove()
