"""The recipient's end of the bridge: what a GP practice, a municipality or a hospital department
does with what Bridge sent it.

They read the final minutes distributed to them, find and close their own action items, and ask
the bridge nurse for a network meeting. The grant to read minutes is the distribution row (the
minutes reached the organisation on a recorded legal basis), checked here as a check of its own:
who sees a patient at all (``bridge.domain.access``) is not widened for it.

``readable_minutes`` is the one door to a minutes version for every caller; whatever renders
minutes for a reader (the API, the web, the PDF) goes through it, so the access rule and its
audit note are the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import Session, aliased, selectinload

from bridge.domain import audit
from bridge.domain.access import Principal, get_visible_patient, patient_visible
from bridge.domain.audit import AuditAction, AuditOutcome
from bridge.domain.base import utcnow
from bridge.domain.calendar import DEFAULT_CALENDAR
from bridge.domain.errors import Forbidden, NotFound, RuleViolation
from bridge.domain.identifiers import mask_cpr
from bridge.domain.meetings import distribution_status as distribution_status_service
from bridge.domain.meetings import minutes as minutes_service
from bridge.domain.meetings import scheduling, scoping
from bridge.domain.meetings.grants import caller_organisations, reached_caller
from bridge.domain.meetings.models import (
    ActionItem,
    ActionItemStatus,
    Distribution,
    DistributionStatus,
    MeetingParticipant,
    MeetingStatus,
    MeetingUrgency,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    ParticipantKind,
    RequesterKind,
)
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Organisation, Role

#: Roles at the receiving end: they read what was distributed to their organisation.
RECIPIENT_ROLES = (Role.GP, Role.MUNICIPALITY, Role.HOSPITAL)

_REQUESTER_KIND = {
    Role.MUNICIPALITY: RequesterKind.MUNICIPALITY,
    Role.GP: RequesterKind.GP,
    Role.HOSPITAL: RequesterKind.HOSPITAL,
}

MAX_ATTENDEES = 20


# --- minutes ----------------------------------------------------------------------------------


def distributed_minutes(
    session: Session, p: Principal, meeting_id: int, version_no: int
) -> MinutesVersion:
    """A final minutes version distributed to the caller's organisation (404 otherwise)."""
    row = session.execute(
        select(MinutesVersion, NetworkMeeting.patient_id, Distribution)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .join(Distribution, Distribution.minutes_version_id == MinutesVersion.id)
        .where(
            MinutesVersion.meeting_id == meeting_id,
            MinutesVersion.version_no == version_no,
            MinutesVersion.status == MinutesStatus.FINAL,
            reached_caller(p),
        )
        .options(selectinload(MinutesVersion.action_items))
        .limit(1)
    ).first()
    if row is None:
        audit.record(
            session,
            p,
            AuditAction.READ,
            "minutes_version",
            f"{meeting_id}/{version_no}",
            None,
            AuditOutcome.NOT_FOUND,
        )
        raise NotFound("no such minutes version")
    version, patient_id, dist = row
    audit.record(session, p, AuditAction.READ, "minutes_version", version.id, patient_id)
    # The recipient has the minutes in hand: that is delivery, as a municipality's fetch from
    # its feed is (never backwards: an acknowledged row stays acknowledged).
    distribution_status_service.mark_distribution(
        session, dist, DistributionStatus.DELIVERED, utcnow()
    )
    return version


def readable_minutes(
    session: Session, p: Principal, meeting_id: int, version_no: int
) -> MinutesVersion:
    """One minutes version for whoever asks: the nurse and the admin read every version of the
    meetings they may see; a recipient organisation the final versions distributed to it."""
    if p.has(*scoping.MEETING_ROLES):
        return minutes_service.get_minutes(session, p, meeting_id, version_no)
    return distributed_minutes(session, p, meeting_id, version_no)


# --- action items -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnActionItem:
    """An action item as its responsible organisation sees it, with where it came from."""

    id: int
    description: str
    person: str | None
    due_date: date | None
    status: str
    done_at: datetime | None
    responsible_organisation_id: int
    meeting_id: int
    version_no: int
    minutes_version_id: int
    meeting_start: datetime | None
    patient_id: int
    patient_name: str
    patient_cpr_masked: str
    link: str


_NEWER = aliased(MinutesVersion)


def _own_items_query(p: Principal, status: ActionItemStatus | None) -> Select[Any]:
    # Items of the minutes in force only: an amended version's items live on in the newer one.
    in_force = ~exists().where(
        _NEWER.meeting_id == MinutesVersion.meeting_id,
        _NEWER.status == MinutesStatus.FINAL,
        _NEWER.version_no > MinutesVersion.version_no,
    )
    stmt = (
        select(ActionItem)
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
            ActionItem.responsible_organisation_id.in_(caller_organisations(p)),
            MinutesVersion.status == MinutesStatus.FINAL,
            in_force,
            reached_caller(p),
        )
    )
    if status is not None:
        stmt = stmt.where(ActionItem.status == status)
    return stmt


def list_own_action_items(
    session: Session,
    p: Principal,
    *,
    cursor: str | None,
    limit: int,
    status: ActionItemStatus | None = None,
) -> Page[OwnActionItem]:
    """The action items the caller's organisation is responsible for, in minutes that reached
    it, oldest first. Two queries per page (the items, then their meetings and patients)."""
    if not p.has(*RECIPIENT_ROLES):
        raise Forbidden("action items are listed for their responsible organisation")
    page = paginate(
        session,
        _own_items_query(p, status),
        [SortKey(ActionItem.id, "id")],
        cursor=cursor,
        limit=limit,
    )
    version_ids = {i.minutes_version_id for i in page.items}
    context = (
        {
            row.id: row
            for row in session.execute(
                select(
                    MinutesVersion.id,
                    MinutesVersion.version_no,
                    NetworkMeeting.id.label("meeting_id"),
                    NetworkMeeting.scheduled_start,
                    Patient.id.label("patient_id"),
                    Patient.name,
                    Patient.cpr,
                )
                .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
                .join(Patient, Patient.id == NetworkMeeting.patient_id)
                .where(MinutesVersion.id.in_(version_ids))
            )
        }
        if version_ids
        else {}
    )
    items = []
    for i in page.items:
        c = context[i.minutes_version_id]
        audit.record(session, p, AuditAction.LIST, "action_item", i.id, c.patient_id)
        items.append(
            OwnActionItem(
                id=i.id,
                description=i.description,
                person=i.person,
                due_date=i.due_date,
                status=i.status.value,
                done_at=i.done_at,
                responsible_organisation_id=int(i.responsible_organisation_id or 0),
                meeting_id=c.meeting_id,
                version_no=c.version_no,
                minutes_version_id=c.id,
                meeting_start=c.scheduled_start,
                patient_id=c.patient_id,
                patient_name=c.name,
                patient_cpr_masked=mask_cpr(c.cpr),
                link=f"/api/v1/meetings/{c.meeting_id}/minutes/{c.version_no}",
            )
        )
    return Page(items=items, next_cursor=page.next_cursor)


# --- meeting requests -------------------------------------------------------------------------


def request_meeting(
    session: Session,
    p: Principal,
    data: dict[str, Any],
    *,
    hold_within_working_days: int = scheduling.DEFAULT_HOLD_WITHIN_WORKING_DAYS,
    now: datetime | None = None,
) -> NetworkMeeting:
    """The patient's municipality, GP practice or hospital department asks for a network meeting.

    It lands on the nurse's worklist as a requested meeting, with the request-to-meeting
    deadline (``hold_by``: the working days of the regional agreement) that makes it overdue and
    raises the gap flag when it passes unheld.
    """
    now = now or utcnow()
    patient_id = data["patient_id"]
    try:
        get_visible_patient(session, p, patient_id)
    except NotFound:
        audit.record(
            session,
            p,
            AuditAction.CREATE,
            "meeting_request",
            None,
            patient_id,
            AuditOutcome.NOT_FOUND,
        )
        raise
    audit.record(session, p, AuditAction.CREATE, "meeting_request", None, patient_id)
    role = next((r for r in RECIPIENT_ROLES if p.has(r)), None)
    if role is None:
        audit.mark_last(session, AuditOutcome.FORBIDDEN)
        raise Forbidden("a meeting request comes from the municipality, GP or hospital")
    nurse_id = scheduling._active_nurse_id(session, patient_id)
    if nurse_id is None:
        raise RuleViolation(
            "the patient has no bridge nurse to organise the meeting", field="patient_id"
        )
    reason = (data.get("reason") or "").strip()
    if not reason:
        raise RuleViolation("say why the meeting is needed", field="reason")
    urgency = MeetingUrgency(data.get("urgency") or MeetingUrgency.NORMAL)
    attendees = data.get("attendees") or []
    if len(attendees) > MAX_ATTENDEES:
        raise RuleViolation(f"at most {MAX_ATTENDEES} attendees", field="attendees")
    org_ids = {a["organisation_id"] for a in attendees if a.get("organisation_id") is not None}
    known = set(
        session.scalars(select(Organisation.id).where(Organisation.id.in_(org_ids)))
        if org_ids
        else []
    )
    participants = [
        MeetingParticipant(
            kind=ParticipantKind.ORGANISATION,
            organisation_id=p.organisation_id,
            person_name=data.get("person"),
            role="requester",
        )
    ]
    for i, a in enumerate(attendees):
        org_id = a.get("organisation_id")
        if org_id is None:
            raise RuleViolation("name the organisation", field=f"attendees.{i}.organisation_id")
        if org_id not in known:
            raise RuleViolation("no such organisation", field=f"attendees.{i}.organisation_id")
        if org_id == p.organisation_id or any(pt.organisation_id == org_id for pt in participants):
            continue
        participants.append(
            MeetingParticipant(
                kind=ParticipantKind.ORGANISATION,
                organisation_id=org_id,
                person_name=a.get("person_name"),
                role=a.get("role"),
            )
        )
    meeting = NetworkMeeting(
        patient_id=patient_id,
        organiser_id=nurse_id,
        status=MeetingStatus.REQUESTED,
        requested_by_kind=_REQUESTER_KIND[role],
        requested_by_organisation_id=p.organisation_id,
        requested_by_person=data.get("person"),
        requested_at=now,
        requested_at_discharge=False,
        hold_by=DEFAULT_CALENDAR.deadline_after(now, hold_within_working_days),
        request_reason=reason,
        request_urgency=urgency.value,
        agenda=reason,
    )
    meeting.participants = participants
    session.add(meeting)
    session.flush()
    audit.pending_audit(session)[-1]["resource_id"] = str(meeting.id)
    return meeting


def list_own_requests(session: Session, p: Principal, *, limit: int = 50) -> list[NetworkMeeting]:
    """The meeting requests the caller's organisation made, newest first (with their state)."""
    if not p.has(*RECIPIENT_ROLES):
        raise Forbidden("meeting requests are listed for the organisation that made them")
    meetings = list(
        session.scalars(
            select(NetworkMeeting)
            .join(Patient, Patient.id == NetworkMeeting.patient_id)
            .where(
                NetworkMeeting.requested_by_organisation_id == p.organisation_id,
                patient_visible(p),
            )
            .options(selectinload(NetworkMeeting.participants))
            .order_by(NetworkMeeting.id.desc())
            .limit(limit)
        )
    )
    for m in meetings:
        audit.record(session, p, AuditAction.LIST, "meeting_request", m.id, m.patient_id)
    return meetings


# --- what reached the organisation --------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMinutes:
    """A final minutes version distributed to the caller's organisation."""

    minutes_version_id: int
    meeting_id: int
    version_no: int
    finalised_at: datetime | None
    meeting_start: datetime | None
    patient_id: int
    patient_name: str
    patient_cpr_masked: str
    distribution_id: int
    distribution_status: str


def list_received_minutes(
    session: Session, p: Principal, *, limit: int = 50
) -> list[ReceivedMinutes]:
    """The final minutes that reached the caller's organisation, newest first (one query)."""
    if not p.has(*RECIPIENT_ROLES):
        raise Forbidden("received minutes are listed for a recipient organisation")
    rows = session.execute(
        select(
            MinutesVersion.id,
            MinutesVersion.meeting_id,
            MinutesVersion.version_no,
            MinutesVersion.finalised_at,
            NetworkMeeting.scheduled_start,
            Patient.id.label("patient_id"),
            Patient.name,
            Patient.cpr,
            Distribution.id.label("distribution_id"),
            Distribution.status,
        )
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .join(Distribution, Distribution.minutes_version_id == MinutesVersion.id)
        .where(MinutesVersion.status == MinutesStatus.FINAL, reached_caller(p))
        .order_by(MinutesVersion.finalised_at.desc(), MinutesVersion.id.desc())
        .limit(limit)
    ).all()
    out = []
    for r in rows:
        audit.record(session, p, AuditAction.LIST, "minutes_version", r.id, r.patient_id)
        out.append(
            ReceivedMinutes(
                minutes_version_id=r.id,
                meeting_id=r.meeting_id,
                version_no=r.version_no,
                finalised_at=r.finalised_at,
                meeting_start=r.scheduled_start,
                patient_id=r.patient_id,
                patient_name=r.name,
                patient_cpr_masked=mask_cpr(r.cpr),
                distribution_id=r.distribution_id,
                distribution_status=str(r.status.value if hasattr(r.status, "value") else r.status),
            )
        )
    return out


def received_distribution(
    session: Session, p: Principal, minutes_version_id: int
) -> Distribution | None:
    """The caller's organisation's distribution row of a version (to acknowledge)."""
    return session.scalar(
        select(Distribution)
        .join(MinutesVersion, MinutesVersion.id == Distribution.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .where(Distribution.minutes_version_id == minutes_version_id, reached_caller(p))
        .limit(1)
    )
