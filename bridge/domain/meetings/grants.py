"""Recipient-scoped grants: what the distribution of final minutes lets an organisation read
and do, checked on its own (who sees a patient at all stays ``bridge.domain.access``'s).

Kept apart from ``services`` and ``recipients`` so both can use it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal, patient_visible
from bridge.domain.meetings.models import (
    ActionItem,
    Distribution,
    DistributionStatus,
    MinutesVersion,
    NetworkMeeting,
    RecipientRole,
)
from bridge.domain.patients.models import Patient


def caller_organisations(p: Principal) -> list[int]:
    """The organisations whose post the caller reads: its own, and the municipality it belongs
    to (municipality staff of a sub-unit read what was sent to the municipality)."""
    return sorted({p.organisation_id, *([p.municipality_id] if p.municipality_id else [])})


def reached_caller(p: Principal) -> Any:
    """The condition on ``Distribution`` (joined to ``Patient``) that the minutes reached the
    caller's organisation and the caller may read them.

    A GP practice or the residence municipality reads them while the patient is still its own
    (listed, resident): the distribution was made to it in that capacity. A participant (a
    hospital department that took part) took part, so the distribution alone is its basis.
    """
    return and_(
        Distribution.recipient_organisation_id.in_(caller_organisations(p)),
        Distribution.status != DistributionStatus.BLOCKED,
        or_(Distribution.recipient_role == RecipientRole.PARTICIPANT, patient_visible(p)),
    )


def may_change_own_item(session: Session, p: Principal, item_id: int) -> int | None:
    """The patient id of an action item the caller's organisation owns in minutes that reached
    it (its own check: the owner need not otherwise see the patient, e.g. a department that
    took part), or None."""
    return session.scalar(
        select(NetworkMeeting.patient_id)
        .select_from(ActionItem)
        .join(MinutesVersion, MinutesVersion.id == ActionItem.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .join(
            Distribution,
            and_(
                Distribution.minutes_version_id == MinutesVersion.id,
                Distribution.recipient_organisation_id == ActionItem.responsible_organisation_id,
            ),
        )
        .where(
            ActionItem.id == item_id,
            ActionItem.responsible_organisation_id.in_(caller_organisations(p)),
            reached_caller(p),
        )
        .limit(1)
    )
