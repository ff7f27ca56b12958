"""Meeting reads for the web pages' Today: the coming meetings and their minutes' state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    and_,
    func,
    select,
)
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal, patient_visible
from bridge.domain.audit import AuditAction
from bridge.domain.meetings.models import (
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.meetings.scoping import MEETING_ROLES
from bridge.domain.patients.models import Patient

# --- worklist reads (the web pages' Today) --------------------------------------------------------


def list_meetings_between(
    session: Session, p: Principal, start: datetime, end: datetime, *, limit: int = 50
) -> list[NetworkMeeting]:
    """Planned or held meetings of visible patients starting in [start, end), by start time."""
    p.require(*MEETING_ROLES)
    meetings = list(
        session.scalars(
            select(NetworkMeeting)
            .join(Patient, Patient.id == NetworkMeeting.patient_id)
            .where(
                patient_visible(p),
                NetworkMeeting.scheduled_start >= start,
                NetworkMeeting.scheduled_start < end,
                NetworkMeeting.status.in_([MeetingStatus.PLANNED, MeetingStatus.HELD]),
            )
            .order_by(NetworkMeeting.scheduled_start, NetworkMeeting.id)
            .limit(limit)
        )
    )
    for m in meetings:
        audit.record(session, p, AuditAction.LISTED, "network_meeting", m.id, m.patient_id)
    return meetings


def latest_minutes_status(
    session: Session, meeting_ids: list[int]
) -> dict[int, tuple[int, MinutesStatus]]:
    """The newest minutes version number and status of each meeting (one query)."""
    if not meeting_ids:
        return {}
    newest = (
        select(MinutesVersion.meeting_id, func.max(MinutesVersion.version_no).label("no"))
        .where(MinutesVersion.meeting_id.in_(meeting_ids))
        .group_by(MinutesVersion.meeting_id)
        .subquery()
    )
    rows = session.execute(
        select(MinutesVersion.meeting_id, MinutesVersion.version_no, MinutesVersion.status).join(
            newest,
            and_(
                newest.c.meeting_id == MinutesVersion.meeting_id,
                newest.c.no == MinutesVersion.version_no,
            ),
        )
    )
    return {m: (no, MinutesStatus(status)) for m, no, status in rows}
