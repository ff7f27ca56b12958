"""Meeting requests on the nurse's Today page: what the municipality, the GP or a hospital
department asked for, and by when the meeting is due (overdue past it, as the gap flag is)."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.meetings import scheduling, scoping
from bridge.domain.meetings.models import MeetingStatus
from bridge.web.labels import label
from bridge.web.readmodels import organisation_names
from bridge.web.sections import Section, SectionItem
from bridge.web.worklist import ROWS, dk_when, patient_names


def meeting_requests_today(session: Session, p: Principal, now: datetime) -> Section | None:
    """Requested meetings not yet planned, most urgent first, overdue ones marked."""
    if not p.has(*scoping.MEETING_ROLES):
        return None
    page = scheduling.list_meetings(
        session, p, cursor=None, limit=ROWS, status=MeetingStatus.REQUESTED
    )
    rows = sorted(
        page.items,
        key=lambda m: (m.request_urgency != "urgent", m.hold_by or m.requested_at or now),
    )
    names = patient_names(session, p, [m.patient_id for m in rows])
    orgs = organisation_names(session, [m.requested_by_organisation_id for m in rows])
    items = []
    for m in rows:
        who = orgs.get(m.requested_by_organisation_id or 0) or label(
            "responsible_kind", m.requested_by_kind or ""
        )
        parts = [m.request_reason or "", _("Hold by %(when)s", when=dk_when(m.hold_by))]
        if m.request_urgency == "urgent":
            parts.insert(0, _("Urgent"))
        items.append(
            SectionItem(
                title=_("Meeting requested by %(who)s", who=who),
                href=url_for("web.meeting", meeting_id=m.id),
                detail=" · ".join(x for x in parts if x),
                patient_name=names.get(m.patient_id),
                severity="danger" if m.overdue(now) or m.request_urgency == "urgent" else "warning",
                when=m.requested_at,
                overdue=m.overdue(now),
            )
        )
    return Section(
        key="meeting_requests",
        title=_("Meeting requests"),
        items=items,
        empty_text=_("No one has asked for a network meeting."),
    )
