"""The scheduler process (``bridge scheduler``). Never started inside web workers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from bridge.jobs.runner import Job, run_job

log = logging.getLogger("bridge.jobs")


@dataclass(frozen=True)
class ScheduledJob:
    """A job the scheduler process runs, every ``seconds`` (the setting ``interval_setting``).

    ``lock=False`` lets runs overlap (several processes may, and should, run it)."""

    name: str
    job: Job
    interval_setting: str
    seconds: int
    lock: bool = True


def build_scheduler(app: Flask, jobs: Sequence[ScheduledJob]) -> BlockingScheduler:
    """A scheduler running ``jobs`` (bridge/bootstrap.py says which) at their intervals."""
    scheduler = BlockingScheduler(timezone="UTC")
    for scheduled in jobs:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=scheduled.seconds,
            args=[app, scheduled.name, scheduled.job],
            kwargs={"lock": scheduled.lock},
            id=scheduled.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=scheduled.seconds,
        )
        log.info("scheduled %s every %ss", scheduled.name, scheduled.seconds)
    return scheduler


def run_scheduler(app: Flask, jobs: Sequence[ScheduledJob]) -> None:
    """Run until stopped."""
    scheduler = build_scheduler(app, jobs)
    log.info("scheduler starting with %d jobs", len(scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")
