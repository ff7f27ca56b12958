"""The scheduler process (``bridge scheduler``). Never started inside web workers."""

from __future__ import annotations

import logging
import os

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from bridge.jobs.runner import Job, run_job

log = logging.getLogger("bridge.jobs")

# name -> (job, environment variable holding its interval in seconds, default interval)
SCHEDULED_JOBS: dict[str, tuple[Job, str, int]] = {}
# Jobs that run without the per-job advisory lock (safe, and meant, to run in several processes).
UNLOCKED_JOBS: set[str] = set()


def register_job(
    name: str, job: Job, interval_env: str, default_seconds: int, *, lock: bool = True
) -> None:
    """Add a job to what the scheduler process runs; ``lock=False`` lets runs overlap."""
    SCHEDULED_JOBS[name] = (job, interval_env, default_seconds)
    if not lock:
        UNLOCKED_JOBS.add(name)


def build_scheduler(app: Flask) -> BlockingScheduler:
    """A scheduler with every registered job (see bridge/bootstrap.py) at its interval."""
    scheduler = BlockingScheduler(timezone="UTC")
    for name, (job, env, default) in SCHEDULED_JOBS.items():
        seconds = int(os.environ.get(env, app.config.get(env, default)))
        scheduler.add_job(
            run_job,
            "interval",
            seconds=seconds,
            args=[app, name, job],
            kwargs={"lock": name not in UNLOCKED_JOBS},
            id=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=seconds,
        )
        log.info("scheduled %s every %ss", name, seconds)
    return scheduler


def run_scheduler(app: Flask) -> None:
    """Run until stopped."""
    scheduler = build_scheduler(app)
    log.info("scheduler starting with %d jobs", len(scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")
