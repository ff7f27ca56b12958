"""This area's sources for the patient timeline: network meetings and final minutes versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.base import utcnow
from bridge.domain.meetings.models import (
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.timeline import TimelineItem, register_timeline_source

_MEETING_TITLES = {
    MeetingStatus.REQUESTED: "Netværksmøde ønsket",
    MeetingStatus.PLANNED: "Netværksmøde planlagt",
    MeetingStatus.HELD: "Netværksmøde afholdt",
    MeetingStatus.CANCELLED: "Netværksmøde aflyst",
}


@register_timeline_source
def meeting_items(session: Session, patient_id: int) -> list[TimelineItem]:
    """Each meeting at its time (or when it was asked for), with its status (one query)."""
    rows = session.execute(
        select(
            NetworkMeeting.id,
            NetworkMeeting.status,
            NetworkMeeting.scheduled_start,
            NetworkMeeting.held_at,
            NetworkMeeting.requested_at,
            NetworkMeeting.created_at,
            NetworkMeeting.place,
            NetworkMeeting.hold_by,
        ).where(NetworkMeeting.patient_id == patient_id)
    )
    now = utcnow()
    items = []
    for mid, status, start, held_at, requested_at, created_at, place, hold_by in rows:
        at = start or held_at or requested_at or created_at
        title = _MEETING_TITLES[status] + (f" ({place})" if place else "")
        # A requested meeting past the regional hold-by date is overdue until it is planned.
        overdue = status == MeetingStatus.REQUESTED and hold_by is not None and hold_by < now
        items.append(
            TimelineItem("meeting", at, title, status.value, "meeting", mid, overdue=overdue)
        )
    return items


@register_timeline_source
def minutes_items(session: Session, patient_id: int) -> list[TimelineItem]:
    """Each final minutes version when it was finalised: the first, then amendments (one query)."""
    rows = session.execute(
        select(
            MinutesVersion.id,
            MinutesVersion.meeting_id,
            MinutesVersion.version_no,
            MinutesVersion.finalised_at,
        )
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(
            NetworkMeeting.patient_id == patient_id,
            MinutesVersion.status == MinutesStatus.FINAL,
        )
    )
    items = []
    for vid, _meeting_id, version_no, finalised_at in rows:
        amended = version_no > 1
        items.append(
            TimelineItem(
                "minutes_amended" if amended else "minutes_final",
                finalised_at,
                f"Referat rettet (version {version_no})" if amended else "Referat endeligt",
                "amended" if amended else "final",
                "minutes_version",
                vid,
            )
        )
    return items
