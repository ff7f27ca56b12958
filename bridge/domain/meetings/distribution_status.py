"""Where each recipient's copy of the minutes has got to: sent, delivered, acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, NotFound
from bridge.domain.meetings import outbox
from bridge.domain.meetings.models import (
    Distribution,
    DistributionStatus,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.meetings.scoping import _load_meeting, _not_found
from bridge.domain.notifications import acknowledge_source
from bridge.domain.notifications.models import NotificationStatus
from bridge.domain.patients.services import read_patient_scoped

# --- distribution -------------------------------------------------------------------------------


_DISTRIBUTIONS_OF_MEETING = (
    select(Distribution)
    .join(MinutesVersion, MinutesVersion.id == Distribution.minutes_version_id)
    .where(MinutesVersion.meeting_id == bindparam("meeting_id"))
    .order_by(MinutesVersion.version_no, Distribution.id)
)


def list_distributions(session: Session, p: Principal, meeting_id: int) -> list[Distribution]:
    """The distribution of every version of the meeting's minutes, per recipient."""
    _load_meeting(session, p, meeting_id, participants=False)
    return list(session.scalars(_DISTRIBUTIONS_OF_MEETING, {"meeting_id": meeting_id}))


def mark_distribution(
    session: Session, distribution: Distribution, status: DistributionStatus, now: datetime
) -> Distribution:
    """Record delivery progress (for the outbox: sent, delivered, acknowledged by receipt)."""
    if distribution.status == DistributionStatus.BLOCKED:
        raise Conflict("a blocked distribution is never delivered")
    order = [
        DistributionStatus.PENDING,
        DistributionStatus.SENT,
        DistributionStatus.DELIVERED,
        DistributionStatus.ACKNOWLEDGED,
    ]
    if order.index(status) <= order.index(distribution.status):
        return distribution
    distribution.status = status
    # Each later stage implies the earlier ones took place.
    distribution.sent_at = distribution.sent_at or now
    if status in (DistributionStatus.DELIVERED, DistributionStatus.ACKNOWLEDGED):
        distribution.delivered_at = distribution.delivered_at or now
    if status == DistributionStatus.ACKNOWLEDGED:
        distribution.acknowledged_at = now
    session.flush()
    return distribution


def acknowledge_received(session: Session, dist: Distribution, now: datetime) -> Distribution:
    """The one way a distribution becomes acknowledged, whichever door the receipt came in by.

    Also settles the outbox rows that deliver it, so a FHIR message the GP acknowledged in the
    inbox (or directly) is not resent for lack of a MedCom acknowledgement.
    """
    mark_distribution(session, dist, DistributionStatus.ACKNOWLEDGED, now)
    acknowledge_source(session, outbox.SOURCE_TYPE, dist.id, now)
    return dist


def acknowledge_distribution(
    session: Session, p: Principal, distribution_id: int, now: datetime | None = None
) -> Distribution:
    """The recipient organisation acknowledges minutes it received."""
    dist = session.get(Distribution, distribution_id)
    # Relatives' and the nurse's rows have no organisation: None must not match a caller's
    # missing municipality_id.
    if (
        dist is None
        or dist.recipient_organisation_id is None
        or dist.recipient_organisation_id not in (p.organisation_id, p.municipality_id)
    ):
        raise _not_found(session, p, "distribution", distribution_id, "distribution")
    patient_id = session.scalar(
        select(NetworkMeeting.patient_id)
        .join(MinutesVersion, MinutesVersion.meeting_id == NetworkMeeting.id)
        .where(MinutesVersion.id == dist.minutes_version_id)
    )
    if patient_id is None:
        raise _not_found(session, p, "distribution", distribution_id, "distribution")
    read_patient_scoped(session, p, patient_id, "distribution", AuditAction.UPDATE, dist.id)
    if dist.status == DistributionStatus.BLOCKED:
        raise NotFound("no such distribution")
    return acknowledge_received(session, dist, now or utcnow())


# What a notification's outcome means for the distribution it delivers. Failures are not
# mapped: another channel (the inbox, at least) may still reach the recipient, and the gap rule
# on dead notifications tells the nurse.
_OUTCOME_TO_DISTRIBUTION = {
    NotificationStatus.SENT: DistributionStatus.SENT,
    NotificationStatus.DELIVERED: DistributionStatus.DELIVERED,
    NotificationStatus.ACKNOWLEDGED: DistributionStatus.ACKNOWLEDGED,
}


def on_notification_outcome(
    session: Session, distribution_id: int, status: NotificationStatus, at: datetime
) -> bool:
    """Move a distribution forward when a notification delivering it does (never backwards);
    True when the distribution took an acknowledgement."""
    target = _OUTCOME_TO_DISTRIBUTION.get(status)
    if target is None:
        return False
    dist = session.get(Distribution, distribution_id)
    if dist is None or dist.status == DistributionStatus.BLOCKED:
        return False
    # Only the distribution moves; answering True for an acknowledgement lets the outbox settle
    # its other rows itself, so nothing here calls back into notifications.
    mark_distribution(session, dist, target, at)
    return target == DistributionStatus.ACKNOWLEDGED


# The order a distribution moves in; it never moves back.
_PROGRESS = [
    DistributionStatus.PENDING,
    DistributionStatus.SENT,
    DistributionStatus.DELIVERED,
    DistributionStatus.ACKNOWLEDGED,
]


def on_notification_outcomes(
    session: Session, distribution_ids: list[int], status: NotificationStatus, at: datetime
) -> None:
    """``on_notification_outcome`` for many distributions at once, in one UPDATE: each moves to
    the outcome's stage if it is behind it and not blocked (a dispatcher batch's deliveries)."""
    target = _OUTCOME_TO_DISTRIBUTION.get(status)
    if target is None or target == DistributionStatus.ACKNOWLEDGED or not distribution_ids:
        # An acknowledgement's answer matters to the caller: it goes row by row.
        for distribution_id in distribution_ids:
            on_notification_outcome(session, distribution_id, status, at)
        return
    behind = _PROGRESS[: _PROGRESS.index(target)]
    values: dict[str, Any] = {
        "status": target,
        "sent_at": func.coalesce(Distribution.sent_at, at),
    }
    if target == DistributionStatus.DELIVERED:
        values["delivered_at"] = func.coalesce(Distribution.delivered_at, at)
    session.execute(
        update(Distribution)
        .where(Distribution.id.in_(distribution_ids), Distribution.status.in_(behind))
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
