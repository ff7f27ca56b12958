"""Recording outcomes: the notification rows, retries, and the sources' handlers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session

from bridge.adapters.dispatch_types import DispatchSummary, S, _Job, _Outcome
from bridge.domain.notifications.acknowledgements import apply_acknowledgement
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.models import (
    DeliveryEndpoint,
    Notification,
)
from bridge.domain.notifications.outcomes import report_outcome, report_statuses

# --- recording --------------------------------------------------------------------------------


def _record_many(
    session: Session,
    results: list[tuple[_Job, _Outcome]],
    now: datetime,
    policy: RetryPolicy,
    summary: DispatchSummary,
) -> None:
    """Record a group of outcomes in the caller's transaction, each guarded by its claim token.

    A row whose token no longer matches (acknowledged or re-claimed meanwhile) keeps its state.
    Plain deliveries, nearly all of them, are one UPDATE; the rest go row by row.
    """
    # Lock the rows this dispatcher still holds, in id order so that two transactions never
    # wait on each other's rows in opposite orders.
    held = {
        row.id: row
        for row in session.execute(
            select(Notification.id, Notification.source_type, Notification.source_id)
            .where(
                tuple_(Notification.id, Notification.claim_token).in_(
                    [(job.id, job.token) for job, _ in results]
                ),
                Notification.status == S.SENDING,
            )
            .order_by(Notification.id)
            .with_for_update()
        )
    }
    summary.stale += len(results) - len(held)
    plain = [
        job.id
        for job, outcome in results
        if job.id in held
        and outcome.status == S.DELIVERED
        and outcome.ack is None
        and outcome.disable_endpoint is None
    ]
    if plain:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(plain))
            .values(
                status=S.DELIVERED,
                next_attempt_at=None,
                last_error=None,
                sent_at=func.coalesce(Notification.sent_at, now),
                lease_expires_at=None,
                claim_token=None,
            )
            .execution_options(synchronize_session="fetch")
        )
        summary.delivered += len(plain)
        report_statuses(
            session,
            [(held[id_].source_type, held[id_].source_id) for id_ in plain],
            S.DELIVERED,
            now,
        )
    done = set(plain)
    rest = [(job, outcome) for job, outcome in results if job.id in held and job.id not in done]
    if rest:
        rows = {
            n.id: n
            for n in session.scalars(
                select(Notification).where(Notification.id.in_([job.id for job, _ in rest]))
            )
        }
        for job, outcome in sorted(rest, key=lambda r: r[0].id):
            _apply(session, rows[job.id], outcome, now, policy, summary)


def _apply(
    session: Session,
    n: Notification,
    outcome: _Outcome,
    now: datetime,
    policy: RetryPolicy,
    summary: DispatchSummary,
) -> None:
    """One outcome on a row this dispatcher still holds (already locked by the caller)."""
    n.lease_expires_at, n.claim_token = None, None
    if outcome.status == S.DELIVERED:
        n.status, n.next_attempt_at, n.last_error = S.DELIVERED, None, None
        n.sent_at = n.sent_at or now
        summary.delivered += 1
    elif outcome.status == S.SENT:
        n.status, n.last_error = S.SENT, None
        n.sent_at = n.sent_at or now
        more = n.resends < policy.max_resends
        n.next_attempt_at = now + policy.ack_timeout if more else None
        summary.sent += 1
    elif outcome.status == S.FAILED:
        n.status, n.next_attempt_at, n.last_error = S.FAILED, None, outcome.error
        summary.failed += 1
    elif now - n.created_at >= policy.max_age:
        n.status, n.next_attempt_at, n.last_error = S.DEAD, None, outcome.error
        summary.dead += 1
    else:
        n.status, n.last_error = S.PENDING, outcome.error
        n.next_attempt_at = now + (outcome.retry_after or policy.delay(n.attempts))
        summary.retried += 1
    if outcome.disable_endpoint and n.endpoint_id is not None:
        endpoint = session.get(DeliveryEndpoint, n.endpoint_id)
        if endpoint is not None:
            endpoint.active, endpoint.disabled_reason = False, outcome.disable_endpoint
    session.flush()
    report_outcome(session, n, now)
    if outcome.ack is not None:
        apply_acknowledgement(session, n, outcome.ack, now, policy)
        summary.acknowledged += n.status == S.ACKNOWLEDGED
