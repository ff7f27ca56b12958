"""Network meetings themselves: plan, reschedule, hold (with attendance), cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal, built_per_caller, patient_visible
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.calendar import DEFAULT_CALENDAR
from bridge.domain.errors import Conflict, RuleViolation
from bridge.domain.meetings import lifecycle
from bridge.domain.meetings.models import (
    MeetingParticipant,
    MeetingRecord,
    MeetingStatus,
    NetworkMeeting,
    ParticipantKind,
    ParticipantRecord,
)
from bridge.domain.meetings.scoping import MEETING_ROLES, _load_meeting, _scoped
from bridge.domain.pagination import Page, SortKey, given_filters, paginate
from bridge.domain.patients.models import Enrollment, Patient, Relative
from bridge.domain.registry.models import Organisation, Role

# Regional agreements: a meeting requested at discharge is held within 5 working days.
DEFAULT_HOLD_WITHIN_WORKING_DAYS = 5
# --- meetings -----------------------------------------------------------------------------------


def _check_times(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise RuleViolation("scheduled_end must be after scheduled_start", field="scheduled_end")


def _participants(
    session: Session, patient_id: int, rows: list[dict[str, Any]]
) -> list[MeetingParticipant]:
    """Validate participant input (organisations exist, relatives are the patient's)."""
    org_ids = {r["organisation_id"] for r in rows if r.get("organisation_id") is not None}
    rel_ids = {r["relative_id"] for r in rows if r.get("relative_id") is not None}
    known_orgs = set(
        session.scalars(select(Organisation.id).where(Organisation.id.in_(org_ids)))
        if org_ids
        else []
    )
    known_rels = set(
        session.scalars(
            select(Relative.id).where(Relative.id.in_(rel_ids), Relative.patient_id == patient_id)
        )
        if rel_ids
        else []
    )
    out = []
    for i, r in enumerate(rows):
        kind = ParticipantKind(r["kind"])
        org_id, rel_id = r.get("organisation_id"), r.get("relative_id")
        if (kind == ParticipantKind.ORGANISATION) != (org_id is not None):
            raise RuleViolation(
                "organisation_id is given exactly for organisation participants",
                field=f"participants.{i}.organisation_id",
            )
        if (kind == ParticipantKind.RELATIVE) != (rel_id is not None):
            raise RuleViolation(
                "relative_id is given exactly for relative participants",
                field=f"participants.{i}.relative_id",
            )
        if org_id is not None and org_id not in known_orgs:
            raise RuleViolation("no such organisation", field=f"participants.{i}.organisation_id")
        if rel_id is not None and rel_id not in known_rels:
            raise RuleViolation(
                "no such relative of this patient", field=f"participants.{i}.relative_id"
            )
        out.append(
            MeetingParticipant(
                kind=kind,
                organisation_id=org_id,
                relative_id=rel_id,
                person_name=r.get("person_name"),
                role=r.get("role"),
                treating_health_care=bool(r.get("treating_health_care", False)),
            )
        )
    return out


def _active_nurse_id(session: Session, patient_id: int) -> int | None:
    return session.scalar(
        select(Enrollment.nurse_id).where(
            Enrollment.patient_id == patient_id, Enrollment.end_date.is_(None)
        )
    )


def create_meeting(
    session: Session,
    p: Principal,
    data: dict[str, Any],
    *,
    hold_within_working_days: int = DEFAULT_HOLD_WITHIN_WORKING_DAYS,
) -> NetworkMeeting:
    """Plan a meeting, or record a request for one (who asked and when starts the clock)."""
    patient_id = data["patient_id"]
    _scoped(session, p, patient_id, "network_meeting", AuditAction.CREATE, None)
    organiser_id = p.staff_id if p.has(Role.NURSE) else _active_nurse_id(session, patient_id)
    if organiser_id is None:
        raise RuleViolation(
            "the patient has no bridge nurse to organise the meeting", field="patient_id"
        )
    start, end = data.get("scheduled_start"), data.get("scheduled_end")
    _check_times(start, end)
    request = data.get("requested_by")
    meeting = NetworkMeeting(
        patient_id=patient_id,
        organiser_id=organiser_id,
        scheduled_start=start,
        scheduled_end=end,
        place=data.get("place"),
        video_link=data.get("video_link"),
        agenda=data.get("agenda"),
    )
    if request is None:
        if start is None or end is None:
            raise RuleViolation(
                "a planned meeting needs scheduled_start and scheduled_end (or give "
                "requested_by to record a request)",
                field="scheduled_start",
            )
        meeting.status = MeetingStatus.PLANNED
    else:
        _apply_request(session, meeting, patient_id, request, hold_within_working_days)
    meeting.participants = _participants(session, patient_id, data.get("participants", []))
    session.add(meeting)
    session.flush()
    audit.pending_audit(session)[-1]["resource_id"] = str(meeting.id)
    return meeting


def _apply_request(
    session: Session,
    meeting: NetworkMeeting,
    patient_id: int,
    request: dict[str, Any],
    hold_within_working_days: int,
) -> None:
    now = utcnow()
    requested_at = request.get("requested_at") or now
    if requested_at > now:
        raise RuleViolation(
            "a request cannot be made in the future", field="requested_by.requested_at"
        )
    org_id, rel_id = request.get("organisation_id"), request.get("relative_id")
    if org_id is not None and session.get(Organisation, org_id) is None:
        raise RuleViolation("no such organisation", field="requested_by.organisation_id")
    if rel_id is not None:
        rel = session.get(Relative, rel_id)
        if rel is None or rel.patient_id != patient_id:
            raise RuleViolation(
                "no such relative of this patient", field="requested_by.relative_id"
            )
    meeting.status = MeetingStatus.REQUESTED
    meeting.requested_by_kind = request["kind"]
    meeting.requested_by_organisation_id = org_id
    meeting.requested_by_relative_id = rel_id
    meeting.requested_by_person = request.get("person")
    meeting.requested_at = requested_at
    meeting.requested_at_discharge = bool(request.get("at_discharge", False))
    if meeting.requested_at_discharge:
        meeting.hold_by = DEFAULT_CALENDAR.deadline_after(requested_at, hold_within_working_days)


_MEETING_FILTERS: dict[str, ColumnElement[bool]] = {
    "patient_id": NetworkMeeting.patient_id == bindparam("patient_id"),
    "status": NetworkMeeting.status == bindparam("status"),
}
_MEETING_ORDER = [SortKey(NetworkMeeting.id, "id")]


@built_per_caller
def _meeting_list(p: Principal, filters: tuple[str, ...]) -> Select[Any]:
    # One statement per caller and combination of filters, their values bound.
    return (
        select(*MeetingRecord.columns())
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .where(patient_visible(p), *(_MEETING_FILTERS[f] for f in filters))
    )


# The participants of a page of meetings, in one statement (as selectinload would send it).
_PARTICIPANTS_OF = (
    select(*ParticipantRecord.columns())
    .where(MeetingParticipant.meeting_id.in_(bindparam("meeting_ids", expanding=True)))
    .order_by(MeetingParticipant.meeting_id, MeetingParticipant.id)
)


def _participants_of(
    session: Session, meeting_ids: list[int]
) -> dict[int, list[ParticipantRecord]]:
    found: dict[int, list[ParticipantRecord]] = {}
    if meeting_ids:
        for row in session.connection().execute(_PARTICIPANTS_OF, {"meeting_ids": meeting_ids}):
            found.setdefault(row.meeting_id, []).append(ParticipantRecord(*row))
    return found


def list_meetings(
    session: Session,
    p: Principal,
    *,
    cursor: str | None,
    limit: int,
    patient_id: int | None = None,
    status: MeetingStatus | None = None,
) -> Page[MeetingRecord]:
    """The meetings of patients the caller may see, oldest first."""
    p.require(*MEETING_ROLES)
    params = given_filters(patient_id=patient_id, status=status)
    stmt = _meeting_list(p, tuple(params))
    page = paginate(session, stmt, _MEETING_ORDER, cursor=cursor, limit=limit, params=params)
    participants = _participants_of(session, [row.id for row in page.items])
    meetings = [
        # The row holds the columns only (MeetingRecord.columns), so participants is not
        # given twice; mypy cannot count a row's values.
        MeetingRecord(*row, participants=tuple(participants.get(row.id, ())))  # type: ignore[misc]
        for row in page.items
    ]
    for m in meetings:
        audit.record(session, p, AuditAction.LISTED, "network_meeting", m.id, m.patient_id)
    return Page(items=meetings, next_cursor=page.next_cursor)


def get_meeting(session: Session, p: Principal, meeting_id: int) -> NetworkMeeting:
    """One meeting with its participants."""
    return _load_meeting(session, p, meeting_id)


def get_meeting_for_update(session: Session, p: Principal, meeting_id: int) -> NetworkMeeting:
    """The meeting, checked for the right to change it (for If-Match before the change)."""
    return _load_meeting(session, p, meeting_id, AuditAction.UPDATE)


def update_meeting(
    session: Session, p: Principal, meeting: NetworkMeeting, data: dict[str, Any]
) -> NetworkMeeting:
    """Reschedule, move, re-agenda or change the participants of a meeting not yet held."""
    if meeting.status not in (MeetingStatus.REQUESTED, MeetingStatus.PLANNED):
        raise Conflict(
            f"a {meeting.status.value} meeting can no longer be changed",
            allowed=lifecycle.allowed_meeting_transitions(meeting.status),
        )
    _check_times(
        data.get("scheduled_start", meeting.scheduled_start),
        data.get("scheduled_end", meeting.scheduled_end),
    )
    if "participants" in data:
        meeting.participants = _participants(session, meeting.patient_id, data.pop("participants"))
    for key, value in data.items():
        setattr(meeting, key, value)
    meeting.updated_at = utcnow()
    session.flush()
    return meeting


def plan_meeting(
    session: Session, p: Principal, meeting_id: int, data: dict[str, Any]
) -> NetworkMeeting:
    """Give a requested meeting its time and place."""
    meeting = _load_meeting(session, p, meeting_id, AuditAction.UPDATE)
    lifecycle.check_meeting_transition(meeting.status, MeetingStatus.PLANNED)
    _check_times(data["scheduled_start"], data["scheduled_end"])
    for key, value in data.items():
        setattr(meeting, key, value)
    meeting.status = MeetingStatus.PLANNED
    meeting.updated_at = utcnow()
    session.flush()
    return meeting


def _apply_attendance(meeting: NetworkMeeting, rows: list[dict[str, Any]]) -> None:
    by_id = {pt.id: pt for pt in meeting.participants}
    for i, row in enumerate(rows):
        participant = by_id.get(row["participant_id"])
        if participant is None:
            raise RuleViolation(
                "not a participant of this meeting", field=f"attendance.{i}.participant_id"
            )
        participant.attended = row["attended"]


def hold_meeting(
    session: Session,
    p: Principal,
    meeting_id: int,
    attendance: list[dict[str, Any]],
    now: datetime | None = None,
) -> NetworkMeeting:
    """Record that a planned meeting took place, optionally with who attended."""
    now = now or utcnow()
    meeting = _load_meeting(session, p, meeting_id, AuditAction.UPDATE)
    lifecycle.check_meeting_transition(meeting.status, MeetingStatus.HELD)
    if meeting.scheduled_start is not None and meeting.scheduled_start > now:
        raise RuleViolation("a meeting cannot be held before it starts", field="scheduled_start")
    _apply_attendance(meeting, attendance)
    meeting.status = MeetingStatus.HELD
    meeting.held_at = now
    meeting.updated_at = now
    session.flush()
    return meeting


def record_attendance(
    session: Session, p: Principal, meeting_id: int, attendance: list[dict[str, Any]]
) -> NetworkMeeting:
    """Record who attended a held meeting."""
    meeting = _load_meeting(session, p, meeting_id, AuditAction.UPDATE)
    if meeting.status != MeetingStatus.HELD:
        raise Conflict(
            "attendance is recorded once the meeting is held",
            allowed=lifecycle.allowed_meeting_transitions(meeting.status),
        )
    _apply_attendance(meeting, attendance)
    meeting.updated_at = utcnow()
    session.flush()
    return meeting


def cancel_meeting(session: Session, p: Principal, meeting_id: int, reason: str) -> NetworkMeeting:
    """Cancel a requested or planned meeting, with a reason."""
    meeting = _load_meeting(session, p, meeting_id, AuditAction.UPDATE)
    lifecycle.check_meeting_transition(meeting.status, MeetingStatus.CANCELLED)
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancel_reason = reason
    meeting.updated_at = utcnow()
    session.flush()
    return meeting
