"""The dispatcher: claim due notifications, deliver them outside any transaction, record outcomes.

Safe to run in several processes at once: rows are claimed with ``FOR UPDATE SKIP LOCKED`` and a
lease. A dispatcher that dies leaves its claimed rows ``sending``; once the lease expires another
dispatcher claims them again, so nothing is lost (a message in flight at the moment of death may
be delivered twice, which receivers dedupe on ``webhook-id`` / MessageHeader id).
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime

from sqlalchemy.orm import Session

from bridge.adapters.dispatch_claims import _claim
from bridge.adapters.dispatch_delivery import _deliver
from bridge.adapters.dispatch_records import _record_many
from bridge.adapters.dispatch_types import DispatchSettings, DispatchSummary, _Job, _Outcome
from bridge.adapters.transport import Transport
from bridge.unit_of_work import UnitOfWork


def dispatch_once(
    session: Session,
    now: datetime,
    *,
    batch_size: int = 100,
    settings: DispatchSettings | None = None,
    transport: Transport | None = None,
) -> DispatchSummary:
    """Claim up to ``batch_size`` due notifications, deliver them, record the outcomes.

    ``session`` must be the dispatcher's own: it is committed after the claim and after each
    group of outcomes, and no transaction is open while a message is on the wire. Messages go
    out ``settings.workers`` at a time; whatever has come back is recorded (one transaction)
    while the rest are still being sent, so a crash re-sends only what was in flight or not yet
    recorded.
    """
    settings = settings or DispatchSettings()
    own_transport = transport is None
    transport = transport or Transport(
        http_connections=settings.workers, destinations=settings.destinations
    )
    summary = DispatchSummary()
    try:
        with UnitOfWork(session):
            jobs = _claim(session, now, batch_size, settings)
        summary.claimed = len(jobs)
        if jobs:
            _send_and_record(session, jobs, transport, now, settings, summary)
    finally:
        if own_transport:
            transport.close()
    return summary


def _send_and_record(
    session: Session,
    jobs: list[_Job],
    transport: Transport,
    now: datetime,
    settings: DispatchSettings,
    summary: DispatchSummary,
) -> None:
    # Stop before the lease runs out, so that another dispatcher never re-claims a row this
    # one is still about to send.
    deadline = time.monotonic() + settings.lease.total_seconds() * 0.8

    def send(job: _Job) -> _Outcome | None:
        if time.monotonic() > deadline:
            return None
        return _deliver(job, transport, now)

    pool = ThreadPoolExecutor(max_workers=max(1, min(settings.workers, len(jobs))))
    try:
        pending = {pool.submit(send, job): job for job in jobs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            results, crash = [], None
            for future in done:
                job = pending.pop(future)
                exc = future.exception()
                if exc is not None:
                    # Not an Exception (_deliver handles those): the process is going down.
                    crash = crash or exc
                    continue
                outcome = future.result()
                if outcome is None:
                    summary.skipped += 1
                else:
                    results.append((job, outcome))
            if crash is not None:
                # Going down (an interrupt, a simulated crash): send nothing more, but record
                # what is already on the wire, so that only an outright kill re-sends it.
                for future in [f for f in pending if f.cancel()]:
                    del pending[future]
                for future in wait(pending).done:
                    job = pending.pop(future)
                    if future.exception() is None and (outcome := future.result()) is not None:
                        results.append((job, outcome))
            if results:
                with UnitOfWork(session):
                    _record_many(session, results, now, settings.policy, summary)
            if crash is not None:
                raise crash
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
