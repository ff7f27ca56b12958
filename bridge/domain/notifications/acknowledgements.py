"""Acknowledgements of delivered notifications (MedCom acknowledgement messages among them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.errors import NotFound, RuleViolation
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.messages import Acknowledgement
from bridge.domain.notifications.models import (
    Notification,
    NotificationStatus,
)
from bridge.domain.notifications.outcomes import report_outcome

S = NotificationStatus

# --- acknowledgements -------------------------------------------------------------------------


def apply_acknowledgement(
    session: Session, n: Notification, ack: Acknowledgement, now: datetime, policy: RetryPolicy
) -> Notification:
    """Record a MedCom acknowledgement: ok, transient-error (retry), fatal-error (failed)."""
    if n.status in (S.ACKNOWLEDGED, S.FAILED, S.DEAD):
        return n  # a duplicate or late acknowledgement changes nothing
    n.lease_expires_at = None
    n.claim_token = None  # a delivery still in flight must not overwrite this outcome
    if ack.code == "ok":
        n.status, n.acknowledged_at = S.ACKNOWLEDGED, now
        n.next_attempt_at, n.last_error = None, None
    elif ack.code == "transient-error":
        # MedCom: the original and at most two resends, whatever made them necessary; a
        # receiver that keeps answering transient-error is failed (and flagged) like a silent one.
        if n.resends >= policy.max_resends:
            n.status, n.next_attempt_at = S.FAILED, None
            n.last_error = f"negative acknowledgement: transient-error after {n.resends + 1} sends"
        elif now - n.created_at >= policy.max_age:
            n.status, n.next_attempt_at = S.DEAD, None
            n.last_error = "negative acknowledgement: transient-error"
        else:
            n.resends += 1
            n.status, n.next_attempt_at = S.PENDING, now + policy.delay(max(n.attempts, 1))
            n.last_error = "negative acknowledgement: transient-error"
    else:
        n.status, n.next_attempt_at = S.FAILED, None
        n.last_error = f"negative acknowledgement: fatal-error: {ack.detail or 'no reason given'}"[
            :500
        ]
    session.flush()
    report_outcome(session, n, now)
    return n


#: The port that reads a received acknowledgement (the FHIR codec in ``bridge.adapters``
#: implements it): ``ValueError`` when the body is not one.
AcknowledgementReader = Callable[[Any], Acknowledgement]


def receive_acknowledgement(
    session: Session,
    p: Principal,
    bundle: Any,
    now: datetime,
    policy: RetryPolicy | None = None,
    *,
    parse: AcknowledgementReader,
) -> Notification:
    """A receiver's MedCom Acknowledgement of a message sent to the caller's organisation."""
    try:
        ack = parse(bundle)
    except ValueError as exc:
        raise RuleViolation(str(exc)[:500], field="body") from None
    return record_acknowledgement(session, p, ack, now, policy)


def record_acknowledgement(
    session: Session,
    p: Principal,
    ack: Acknowledgement,
    now: datetime,
    policy: RetryPolicy | None = None,
) -> Notification:
    """Apply a read acknowledgement to the message it answers, sent to the caller's organisation."""
    n = session.scalar(
        select(Notification).where(
            Notification.message_header_id == ack.acknowledged_message_header_id,
            Notification.recipient_organisation_id == p.organisation_id,
        )
    )
    if n is None:
        raise NotFound("no message with that MessageHeader id was sent to your organisation")
    audit.record(session, p, AuditAction.UPDATE, "notification", n.id, n.patient_id)
    return apply_acknowledgement(session, n, ack, now, policy or RetryPolicy())
