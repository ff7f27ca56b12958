"""This area's sources for the patient timeline: network meetings and final minutes versions.

Each is a SELECT of the timeline's row shape (built once, run in the timeline's one UNION ALL)
and a function that turns a row into items.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func

from bridge.domain.meetings.models import (
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    meeting_request_is_overdue,
)
from bridge.domain.timeline import (
    PATIENT_ID,
    TimelineItem,
    TimelineQuery,
    TimelineRow,
    timeline_select,
)

_MEETING_TITLES = {
    MeetingStatus.REQUESTED: "Netværksmøde ønsket",
    MeetingStatus.PLANNED: "Netværksmøde planlagt",
    MeetingStatus.HELD: "Netværksmøde afholdt",
    MeetingStatus.CANCELLED: "Netværksmøde aflyst",
}

_MEETINGS = timeline_select(
    id=NetworkMeeting.id,
    # A meeting sits at its time, or when it was held, asked for or recorded, whichever is known.
    at=func.coalesce(
        NetworkMeeting.scheduled_start,
        NetworkMeeting.held_at,
        NetworkMeeting.requested_at,
        NetworkMeeting.created_at,
    ),
    second_at=NetworkMeeting.hold_by,
    text=NetworkMeeting.place,
    code=NetworkMeeting.status,
).where(NetworkMeeting.patient_id == PATIENT_ID)


def meeting_items(row: TimelineRow, now: datetime) -> list[TimelineItem]:
    """Each meeting at its time (or when it was asked for), with its status."""
    status, hold_by, place = MeetingStatus(row.code), row.second_at, row.text
    title = _MEETING_TITLES[status] + (f" ({place})" if place else "")
    overdue = meeting_request_is_overdue(status, hold_by, now)
    return [TimelineItem("meeting", row.at, title, status.value, "meeting", row.id, overdue)]


_FINAL_MINUTES = (
    timeline_select(
        id=MinutesVersion.id, at=MinutesVersion.finalised_at, number=MinutesVersion.version_no
    )
    .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
    .where(
        NetworkMeeting.patient_id == PATIENT_ID,
        MinutesVersion.status == MinutesStatus.FINAL,
    )
)


def minutes_items(row: TimelineRow, now: datetime) -> list[TimelineItem]:
    """Each final minutes version when it was finalised: the first, then amendments."""
    version_no = row.number
    amended = version_no > 1
    return [
        TimelineItem(
            "minutes_amended" if amended else "minutes_final",
            row.at,
            f"Referat rettet (version {version_no})" if amended else "Referat endeligt",
            "amended" if amended else "final",
            "minutes_version",
            row.id,
        )
    ]


#: This module's sources, for the composition (bridge/bootstrap.py) to register.
SOURCES: tuple[TimelineQuery, ...] = (
    TimelineQuery(_MEETINGS, meeting_items),
    TimelineQuery(_FINAL_MINUTES, minutes_items),
)
