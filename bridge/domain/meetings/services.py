"""Use cases of network meetings: plan, hold, write minutes, finalise, amend, distribute.

Every operation goes through the patient's access control and leaves an audit note. Meetings
and minutes are the nurse's (and the admin's) to read and write; municipalities read final
minutes through their feed (``meeting_summaries``), GPs through the notifications outbox.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, selectinload

from bridge.domain import audit
from bridge.domain.access import Principal, patient_visible
from bridge.domain.audit import AuditAction
from bridge.domain.base import UTCDateTime, utcnow
from bridge.domain.calendar import DEFAULT_CALENDAR
from bridge.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from bridge.domain.identifiers import mask_cpr
from bridge.domain.meetings import grants, lifecycle, outbox
from bridge.domain.meetings.distribution import (
    ConsentFact,
    OrgFact,
    ParticipantFact,
    distribution_list,
)
from bridge.domain.meetings.models import (
    ActionItem,
    ActionItemStatus,
    Distribution,
    DistributionStatus,
    MeetingParticipant,
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    ParticipantKind,
)
from bridge.domain.notifications import acknowledge_source
from bridge.domain.notifications.models import NotificationStatus
from bridge.domain.pagination import Page, SortKey, _decode, _encode, paginate
from bridge.domain.patients import cpr as cpr_disclosure
from bridge.domain.patients.models import Consent, Enrollment, Patient, Relative
from bridge.domain.patients.services import read_patient_scoped
from bridge.domain.registry.effective import copenhagen_today, valid_between
from bridge.domain.registry.models import Organisation, Role
from bridge.domain.registry.services import municipality_id_by_code

# Regional agreements: a meeting requested at discharge is held within 5 working days.
DEFAULT_HOLD_WITHIN_WORKING_DAYS = 5

MEETING_ROLES = (Role.ADMIN, Role.NURSE)


# --- access -------------------------------------------------------------------------------------


def _scoped(
    session: Session,
    p: Principal,
    patient_id: int,
    resource_type: str,
    action: str,
    resource_id: object,
    roles: tuple[str, ...] = MEETING_ROLES,
) -> Patient:
    """Visibility first (404), then the role (403), noting the attempt either way."""
    patient = read_patient_scoped(session, p, patient_id, resource_type, action, resource_id)
    if not p.has(*roles):
        audit.mark_last(session, audit.AuditOutcome.FORBIDDEN)
        raise Forbidden("your role may not do this with network meetings")
    return patient


def _not_found(session: Session, p: Principal, resource_type: str, resource_id: object, what: str):
    audit.record(
        session, p, AuditAction.READ, resource_type, resource_id, None, audit.AuditOutcome.NOT_FOUND
    )
    return NotFound(f"no such {what}")


_MEETING_WITH_PARTICIPANTS = (
    select(NetworkMeeting)
    .where(NetworkMeeting.id == bindparam("meeting_id"))
    .options(selectinload(NetworkMeeting.participants))
)


def _load_meeting(
    session: Session,
    p: Principal,
    meeting_id: int,
    action: str = AuditAction.READ,
    *,
    participants: bool = True,
) -> NetworkMeeting:
    """The meeting, checked for access; ``participants=False`` for reads that never show them
    (the minutes, the distributions), which then cost a query less."""
    if participants:
        meeting = session.scalar(_MEETING_WITH_PARTICIPANTS, {"meeting_id": meeting_id})
    else:
        meeting = session.get(NetworkMeeting, meeting_id)
    if meeting is None:
        raise _not_found(session, p, "network_meeting", meeting_id, "meeting")
    _scoped(session, p, meeting.patient_id, "network_meeting", action, meeting_id)
    return meeting


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


def list_meetings(
    session: Session,
    p: Principal,
    *,
    cursor: str | None,
    limit: int,
    patient_id: int | None = None,
    status: MeetingStatus | None = None,
) -> Page[NetworkMeeting]:
    """The meetings of patients the caller may see, oldest first."""
    p.require(*MEETING_ROLES)
    stmt = (
        select(NetworkMeeting)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .where(patient_visible(p))
        .options(selectinload(NetworkMeeting.participants))
    )
    if patient_id is not None:
        stmt = stmt.where(NetworkMeeting.patient_id == patient_id)
    if status is not None:
        stmt = stmt.where(NetworkMeeting.status == status)
    page = paginate(session, stmt, [SortKey(NetworkMeeting.id, "id")], cursor=cursor, limit=limit)
    for m in page.items:
        audit.record(session, p, AuditAction.LISTED, "network_meeting", m.id, m.patient_id)
    return page


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


# --- minutes ------------------------------------------------------------------------------------


def _action_items(session: Session, rows: list[dict[str, Any]]) -> list[ActionItem]:
    org_ids = {
        r["responsible_organisation_id"]
        for r in rows
        if r.get("responsible_organisation_id") is not None
    }
    known = set(
        session.scalars(select(Organisation.id).where(Organisation.id.in_(org_ids)))
        if org_ids
        else []
    )
    items = []
    for i, r in enumerate(rows):
        org_id = r.get("responsible_organisation_id")
        if org_id is not None and org_id not in known:
            raise RuleViolation(
                "no such organisation", field=f"action_items.{i}.responsible_organisation_id"
            )
        items.append(
            ActionItem(
                description=r["description"],
                responsible_organisation_id=org_id,
                person=r.get("person"),
                due_date=r.get("due_date"),
                status=ActionItemStatus.OPEN,
            )
        )
    return items


def _versions_query(meeting_id: int | BindParameter) -> Select:
    return (
        select(MinutesVersion)
        .where(MinutesVersion.meeting_id == meeting_id)
        .options(selectinload(MinutesVersion.action_items))
    )


def create_minutes(
    session: Session, p: Principal, meeting_id: int, data: dict[str, Any]
) -> MinutesVersion:
    """Start the minutes of a held meeting as draft version 1."""
    meeting = _load_meeting(session, p, meeting_id, AuditAction.CREATE)
    if meeting.status != MeetingStatus.HELD:
        raise Conflict(
            "minutes are written once the meeting is held",
            allowed=lifecycle.allowed_meeting_transitions(meeting.status),
        )
    if session.scalar(select(MinutesVersion.id).where(MinutesVersion.meeting_id == meeting_id)):
        raise Conflict(
            "the meeting already has minutes; edit the draft or amend the final version",
            allowed=[lifecycle.AMENDED],
        )
    now = utcnow()
    version = MinutesVersion(
        meeting_id=meeting_id,
        version_no=1,
        status=MinutesStatus.DRAFT,
        summary=data.get("summary", ""),
        decisions=data.get("decisions", ""),
        created_by_id=p.staff_id,
        created_at=now,
        updated_at=now,
    )
    version.action_items = _action_items(session, data.get("action_items", []))
    session.add(version)
    session.flush()
    return version


# Built once: the minutes are read far more often than written.
_MINUTES_OLDEST_FIRST = _versions_query(bindparam("meeting_id")).order_by(MinutesVersion.version_no)


def list_minutes(session: Session, p: Principal, meeting_id: int) -> list[MinutesVersion]:
    """Every version of a meeting's minutes, oldest first."""
    _load_meeting(session, p, meeting_id, participants=False)
    return list(session.scalars(_MINUTES_OLDEST_FIRST, {"meeting_id": meeting_id}))


def get_minutes(
    session: Session,
    p: Principal,
    meeting_id: int,
    version_no: int,
    action: str = AuditAction.READ,
) -> MinutesVersion:
    """One version of a meeting's minutes (earlier versions stay readable)."""
    _load_meeting(session, p, meeting_id, action, participants=action != AuditAction.READ)
    version = session.scalar(
        _versions_query(meeting_id).where(MinutesVersion.version_no == version_no)
    )
    if version is None:
        raise NotFound("no such minutes version")
    return version


def get_minutes_for_update(
    session: Session, p: Principal, meeting_id: int, version_no: int
) -> MinutesVersion:
    """The version, checked for the right to change it (for If-Match before the change)."""
    return get_minutes(session, p, meeting_id, version_no, AuditAction.UPDATE)


def update_minutes(
    session: Session, p: Principal, version: MinutesVersion, data: dict[str, Any]
) -> MinutesVersion:
    """Edit a draft: the fields given replace the stored ones (action items as a whole)."""
    if version.status != MinutesStatus.DRAFT:
        lifecycle.check_minutes_transition(version.status, MinutesStatus.DRAFT.value)
    if "action_items" in data:
        version.action_items = _action_items(session, data.pop("action_items"))
    for key, value in data.items():
        setattr(version, key, value)
    # Always touch the row, so its version counter moves even when only action items changed:
    # the UPDATE ... WHERE version = <read version> is what stops a concurrent writer.
    version.updated_at = utcnow()
    session.flush()
    return version


@dataclass
class Finalised:
    """A finalised version and the distribution rows it created (for the outbox to deliver)."""

    version: MinutesVersion
    distributions: list[Distribution]


def finalise_minutes(
    session: Session,
    p: Principal,
    version: MinutesVersion,
    now: datetime | None = None,
) -> Finalised:
    """Lock a draft and record its distribution to every recipient."""
    now = now or utcnow()
    lifecycle.check_minutes_transition(version.status, MinutesStatus.FINAL.value)
    if not version.summary.strip():
        raise RuleViolation("final minutes need a summary", field="summary")
    meeting = session.scalar(_MEETING_WITH_PARTICIPANTS, {"meeting_id": version.meeting_id})
    version.status = MinutesStatus.FINAL
    version.finalised_at = now
    version.finalised_by_id = p.staff_id
    version.updated_at = now
    stamp_change(session, version, now)
    rows = _distribute(session, meeting, version, now)
    session.flush()
    # Same transaction: the minutes never become final without their delivery being queued.
    # The distribution stays pending until a channel reports an outcome (the ack handler below):
    # a message waiting in the inbox is not yet proof that the GP has it.
    outbox.notify_distributions(session, meeting, version, rows)
    return Finalised(version=version, distributions=rows)


def _distribute(
    session: Session, meeting: NetworkMeeting, version: MinutesVersion, now: datetime
) -> list[Distribution]:
    patient = session.get(Patient, meeting.patient_id)
    participant_org_ids = {pt.organisation_id for pt in meeting.participants if pt.organisation_id}
    org_ids = participant_org_ids | {patient.municipality_id}
    if patient.gp_practice_id is not None:
        org_ids.add(patient.gp_practice_id)
    day = copenhagen_today(now)
    orgs = {
        o.id: OrgFact(
            o.id,
            o.kind,
            closed=not valid_between(o.valid_from, o.valid_to, day),
            successor_id=o.successor_id,
        )
        for o in session.execute(
            select(
                Organisation.id,
                Organisation.kind,
                Organisation.valid_from,
                Organisation.valid_to,
                Organisation.successor_id,
            ).where(Organisation.id.in_(org_ids))
        )
    }
    rel_ids = {pt.relative_id for pt in meeting.participants if pt.relative_id}
    may_receive = dict(
        session.execute(
            select(Relative.id, Relative.may_receive_information).where(Relative.id.in_(rel_ids))
        ).all()
        if rel_ids
        else []
    )
    consents = [
        ConsentFact(
            id=c.id,
            scope=c.scope,
            given_at=c.given_at,
            withdrawn_at=c.withdrawn_at,
            organisation_id=c.recipient_organisation_id,
            kind=c.recipient_kind,
        )
        for c in session.scalars(select(Consent).where(Consent.patient_id == patient.id))
    ]
    participants = [
        ParticipantFact(
            organisation=orgs.get(pt.organisation_id) if pt.organisation_id else None,
            relative_id=pt.relative_id,
            relative_may_receive=bool(may_receive.get(pt.relative_id, False)),
            treating_health_care=pt.treating_health_care,
        )
        for pt in meeting.participants
        if pt.kind != ParticipantKind.PATIENT
    ]
    recipients = distribution_list(
        participants=participants,
        gp=orgs.get(patient.gp_practice_id) if patient.gp_practice_id else None,
        residence_municipality=orgs[patient.municipality_id],
        nurse_staff_id=_active_nurse_id(session, patient.id) or meeting.organiser_id,
        consents=consents,
        at=now,
    )
    rows = []
    for r in recipients:
        sent = r.status in (DistributionStatus.SENT, DistributionStatus.DELIVERED)
        rows.append(
            Distribution(
                minutes_version_id=version.id,
                recipient_key=r.key,
                recipient_kind=r.kind,
                recipient_organisation_id=r.organisation_id,
                recipient_relative_id=r.relative_id,
                recipient_staff_id=r.staff_id,
                recipient_role=r.role,
                channel=r.channel,
                status=r.status,
                created_at=now,
                sent_at=now if sent else None,
                delivered_at=now if r.status == DistributionStatus.DELIVERED else None,
                blocked_reason=r.blocked_reason,
                legal_basis=r.legal_basis,
            )
        )
    session.add_all(rows)
    return rows


def amend_minutes(
    session: Session, p: Principal, meeting_id: int, data: dict[str, Any]
) -> MinutesVersion:
    """Start a correction of the final minutes: the next version, as a draft, with a reason."""
    _load_meeting(session, p, meeting_id, AuditAction.CREATE)
    latest = session.scalar(
        _versions_query(meeting_id).order_by(MinutesVersion.version_no.desc()).limit(1)
    )
    if latest is None:
        raise Conflict("the meeting has no minutes to amend", allowed=[MinutesStatus.DRAFT.value])
    lifecycle.check_minutes_transition(latest.status, lifecycle.AMENDED)
    now = utcnow()
    version = MinutesVersion(
        meeting_id=meeting_id,
        version_no=latest.version_no + 1,
        status=MinutesStatus.DRAFT,
        summary=data.get("summary", latest.summary),
        decisions=data.get("decisions", latest.decisions),
        amendment_reason=data["reason"],
        created_by_id=p.staff_id,
        created_at=now,
        updated_at=now,
    )
    if "action_items" in data:
        version.action_items = _action_items(session, data["action_items"])
    else:
        # Carry the items over with what was already done about them.
        version.action_items = [
            ActionItem(
                description=i.description,
                responsible_organisation_id=i.responsible_organisation_id,
                person=i.person,
                due_date=i.due_date,
                status=i.status,
                done_by_id=i.done_by_id,
                done_at=i.done_at,
            )
            for i in latest.action_items
        ]
    session.add(version)
    session.flush()
    return version


def stamp_change(session: Session, version: MinutesVersion, now: datetime) -> None:
    """Give the version the next position in the municipalities' change feed.

    A sequence alone is not enough on PostgreSQL: a transaction that drew 10 can commit after
    one that drew 11 has been read, and a reader keyed on the sequence would skip 10 for good.
    So the writing transaction's id is stored too, and the feed serves only rows whose
    transaction is older than every running one (``_settled``). SQLite has a single writer,
    where the next number is simply max + 1.
    """
    if session.get_bind().dialect.name == "postgresql":
        seq, xid = session.execute(
            text("SELECT nextval('minutes_change_seq'), pg_current_xact_id()::text::bigint")
        ).one()
    else:
        seq = session.scalar(select(func.coalesce(func.max(MinutesVersion.change_seq), 0) + 1))
        xid = 0
    version.change_seq = seq
    version.change_xid = xid
    version.changed_at = now


def _settled(dialect: str) -> ColumnElement[bool]:
    version = MinutesVersion.__table__
    if dialect != "postgresql":
        return version.c.change_seq.is_not(None)
    xmin = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    # The reader's own writes are settled for the reader (and tests run in one transaction).
    own = literal_column("pg_current_xact_id_if_assigned()::text::bigint")
    return or_(version.c.change_xid < xmin, version.c.change_xid == own)


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
    org_id = None if dist is None else dist.recipient_organisation_id
    if org_id is None or org_id not in (p.organisation_id, p.municipality_id):
        raise _not_found(session, p, "distribution", distribution_id, "distribution")
    patient_id = session.scalar(
        select(NetworkMeeting.patient_id)
        .join(MinutesVersion, MinutesVersion.meeting_id == NetworkMeeting.id)
        .where(MinutesVersion.id == dist.minutes_version_id)
    )
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


# --- action items -------------------------------------------------------------------------------


def update_action_item(
    session: Session, p: Principal, item_id: int, status: ActionItemStatus
) -> ActionItem:
    """Mark an action item done (or open again); the nurse may also cancel it.

    The responsible organisation may change its own items, if the minutes reached it.
    """
    row = session.execute(
        select(ActionItem, MinutesVersion, NetworkMeeting.patient_id)
        .join(MinutesVersion, MinutesVersion.id == ActionItem.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(ActionItem.id == item_id)
    ).one_or_none()
    if row is None:
        raise _not_found(session, p, "action_item", item_id, "action item")
    item, version, patient_id = row
    if p.has(*MEETING_ROLES):
        read_patient_scoped(session, p, patient_id, "action_item", AuditAction.UPDATE, item_id)
    else:
        # The owner's grant is the distribution that reached it, not seeing the patient: a
        # department that took part owns items of a patient no longer admitted there.
        owner_patient = grants.may_change_own_item(session, p, item_id)
        if owner_patient is None:
            raise _not_found(session, p, "action_item", item_id, "action item")
        audit.record(session, p, AuditAction.UPDATE, "action_item", item_id, owner_patient)
        if status == ActionItemStatus.CANCELLED:
            raise Forbidden("only the bridge nurse may cancel an action item")
    if version.status != MinutesStatus.FINAL:
        raise Conflict("action items of a draft are edited with the draft", allowed=["final"])
    newer = session.scalar(
        select(MinutesVersion.version_no).where(
            MinutesVersion.meeting_id == version.meeting_id,
            MinutesVersion.version_no > version.version_no,
            MinutesVersion.status == MinutesStatus.FINAL,
        )
    )
    if newer is not None:
        raise Conflict(f"these minutes were amended; use the item of version {newer}")
    now = utcnow()
    item.status = status
    item.done_at = now if status == ActionItemStatus.DONE else None
    item.done_by_id = p.staff_id if status == ActionItemStatus.DONE else None
    # The summary changed: move it forward in the municipalities' feed.
    stamp_change(session, version, now)
    session.flush()
    return item


# --- municipality feed --------------------------------------------------------------------------

# Every municipality's integration polls the feed, so a page is read as Core rows of the columns
# it shows, by statements built once (per dialect and shape) with the request's values bound.
_VERSION = MinutesVersion.__table__
_NEWER_VERSION = _VERSION.alias("newer_version")
_MEETING = NetworkMeeting.__table__
_PATIENT = Patient.__table__
_DISTRIBUTION = Distribution.__table__
_ACTION_ITEM = ActionItem.__table__


@dataclass
class SummaryPage:
    """Final minutes as a municipality sees them, and where the reader got to.

    Each item is a plain dict with the response's fields (id, meeting_id, patient, version_no,
    meeting_start, ..., action_items, distribution), values as stored: timestamps, dates and
    enums are the API's to write out.
    """

    items: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool


def _municipality_of(session: Session, p: Principal, code: str) -> int:
    """The id of the caller's municipality, which ``code`` must name."""
    if not p.has(Role.MUNICIPALITY):
        raise Forbidden("only a municipality reads its meeting summaries")
    try:
        muni_id = municipality_id_by_code(session, code)
    except NotFound:
        muni_id = None
    if muni_id is None or muni_id != p.municipality_id:
        raise _not_found(session, p, "meeting_summary", code, "municipality")
    return muni_id


def _feed_position(cursor: str) -> tuple[int, int]:
    # A feed position is (change_xid, change_seq), both bigint: anything else is not our cursor.
    values = _decode(cursor, [(int, False), (int, False)])
    return values[0], values[1]


@functools.cache
def _summary_page_query(dialect: str, *, after: bool, since: bool) -> Select:
    """The latest final version of each meeting of the municipality's citizens whose copy to the
    municipality is not blocked, settled, in change order: one page and one row more.

    Every copy the municipality ever got is a candidate, so the candidates are put in change
    order first (``OFFSET 0`` keeps that subquery, and its order, whole); the checks that need
    other rows (latest final, the citizen's municipality) then run for the first candidates
    only, until the page is full, instead of for all of them.

    The citizens' condition is the municipality's visibility rule (``patient_visible`` of a
    municipality principal, which ``_municipality_of`` makes the caller), bound here so the
    statement is built once.
    """
    version, meeting, patient, dist = _VERSION, _MEETING, _PATIENT, _DISTRIBUTION
    municipality_id = bindparam("municipality_id")
    candidates = (
        select(
            version.c.id,
            version.c.meeting_id,
            version.c.version_no,
            version.c.finalised_at,
            version.c.changed_at,
            version.c.summary,
            version.c.decisions,
            version.c.amendment_reason,
            version.c.change_xid,
            version.c.change_seq,
            dist.c.status.label("distribution_status"),
            dist.c.legal_basis,
            dist.c.delivered_at,
            dist.c.acknowledged_at,
        )
        .select_from(
            version.join(
                dist,
                and_(
                    dist.c.minutes_version_id == version.c.id,
                    dist.c.recipient_organisation_id == municipality_id,
                ),
            )
        )
        .where(
            version.c.status == MinutesStatus.FINAL,
            dist.c.status != DistributionStatus.BLOCKED,
            _settled(dialect),
        )
    )
    if after:
        # (change_xid, change_seq) > the cursor's, spelt out as pagination._after does.
        xid, seq = bindparam("after_xid"), bindparam("after_seq")
        candidates = candidates.where(
            or_(
                version.c.change_xid > xid,
                and_(version.c.change_xid == xid, version.c.change_seq > seq),
            )
        )
    if since:
        candidates = candidates.where(version.c.changed_at >= bindparam("updated_since"))
    c = (
        candidates.order_by(version.c.change_xid, version.c.change_seq)
        .offset(0)
        .subquery("candidate")
    )
    latest_final = (
        select(func.max(_NEWER_VERSION.c.version_no))
        .where(
            _NEWER_VERSION.c.meeting_id == c.c.meeting_id,
            _NEWER_VERSION.c.status == MinutesStatus.FINAL,
        )
        .scalar_subquery()
    )
    return (
        select(
            c.c.id,
            c.c.meeting_id,
            c.c.version_no,
            c.c.finalised_at,
            c.c.changed_at,
            c.c.summary,
            c.c.decisions,
            c.c.amendment_reason,
            c.c.change_xid,
            c.c.change_seq,
            meeting.c.scheduled_start,
            meeting.c.scheduled_end,
            patient.c.id.label("patient_id"),
            patient.c.name.label("patient_name"),
            patient.c.cpr,
            c.c.distribution_status,
            c.c.legal_basis,
            c.c.delivered_at,
            c.c.acknowledged_at,
        )
        .select_from(
            c.join(meeting, meeting.c.id == c.c.meeting_id).join(
                patient, patient.c.id == meeting.c.patient_id
            )
        )
        .where(c.c.version_no == latest_final, patient.c.municipality_id == municipality_id)
        .order_by(c.c.change_xid, c.c.change_seq)
        .limit(bindparam("page_limit"))
    )


_SUMMARY_ACTION_ITEMS = (
    select(
        _ACTION_ITEM.c.minutes_version_id,
        _ACTION_ITEM.c.id,
        _ACTION_ITEM.c.description,
        _ACTION_ITEM.c.responsible_organisation_id,
        _ACTION_ITEM.c.person,
        _ACTION_ITEM.c.due_date,
        _ACTION_ITEM.c.status,
        _ACTION_ITEM.c.done_by_id,
        _ACTION_ITEM.c.done_at,
    )
    .where(_ACTION_ITEM.c.minutes_version_id.in_(bindparam("version_ids", expanding=True)))
    .order_by(_ACTION_ITEM.c.id)
)

# Reaching the municipality is delivery. RETURNING hands back what the response shows of the
# rows it changed; the page's own read holds the rest (read moments before, in this transaction).
_MARK_DELIVERED = (
    update(_DISTRIBUTION)
    .where(
        _DISTRIBUTION.c.minutes_version_id.in_(bindparam("version_ids", expanding=True)),
        _DISTRIBUTION.c.recipient_organisation_id == bindparam("municipality_id"),
        _DISTRIBUTION.c.status.in_([DistributionStatus.PENDING, DistributionStatus.SENT]),
    )
    .values(
        status=DistributionStatus.DELIVERED,
        delivered_at=bindparam("now", type_=UTCDateTime),
        sent_at=func.coalesce(_DISTRIBUTION.c.sent_at, bindparam("now", type_=UTCDateTime)),
    )
    .returning(
        _DISTRIBUTION.c.minutes_version_id,
        _DISTRIBUTION.c.status.label("distribution_status"),
        _DISTRIBUTION.c.legal_basis,
        _DISTRIBUTION.c.delivered_at,
        _DISTRIBUTION.c.acknowledged_at,
    )
)


def meeting_summaries(
    session: Session,
    p: Principal,
    code: str,
    *,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
    now: datetime | None = None,
    include_cpr: bool = False,
) -> SummaryPage:
    """Latest final minutes of the municipality's citizens that reached it, in change order.

    ``include_cpr`` adds each citizen's full CPR (the feed holds only the municipality's own
    citizens), each one noted in the patient's access log.

    Fetching marks the municipality's distribution of each returned summary delivered. Four
    statements whatever the page holds: the municipality, the page, its action items, and the
    delivery mark.
    """
    muni_id = _municipality_of(session, p, code)
    params: dict[str, Any] = {"municipality_id": muni_id, "page_limit": limit + 1}
    if cursor:
        params["after_xid"], params["after_seq"] = _feed_position(cursor)
    if updated_since is not None:
        params["updated_since"] = updated_since
    query = _summary_page_query(
        session.get_bind().dialect.name, after=bool(cursor), since=updated_since is not None
    )
    rows = session.execute(query, params).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items: dict[int, list[dict[str, Any]]] = {row.id: [] for row in rows}
    delivered: dict[int, Any] = {}
    if rows:
        version_ids = list(items)
        for i in session.execute(_SUMMARY_ACTION_ITEMS, {"version_ids": version_ids}):
            items[i.minutes_version_id].append(
                {
                    "id": i.id,
                    "description": i.description,
                    "responsible_organisation_id": i.responsible_organisation_id,
                    "person": i.person,
                    "due_date": i.due_date,
                    "status": i.status,
                    "done_by_id": i.done_by_id,
                    "done_at": i.done_at,
                    "assigned_to_you": i.responsible_organisation_id == muni_id,
                }
            )
        marked = session.execute(
            _MARK_DELIVERED,
            {"version_ids": version_ids, "municipality_id": muni_id, "now": now or utcnow()},
        )
        delivered = {d.minutes_version_id: d for d in marked}
    summaries = []
    for row in rows:
        audit.record(session, p, AuditAction.LIST, "meeting_summary", row.id, row.patient_id)
        dist = delivered.get(row.id, row)
        patient = {"id": row.patient_id, "name": row.patient_name, "cpr_masked": mask_cpr(row.cpr)}
        if include_cpr:
            patient["cpr"] = cpr_disclosure.disclose(session, p, row.patient_id, row.cpr)
        summaries.append(
            {
                "id": row.id,
                "meeting_id": row.meeting_id,
                "patient": patient,
                "version_no": row.version_no,
                "meeting_start": row.scheduled_start,
                "meeting_end": row.scheduled_end,
                "finalised_at": row.finalised_at,
                "changed_at": row.changed_at,
                "summary": row.summary,
                "decisions": row.decisions,
                "amendment_reason": row.amendment_reason,
                "action_items": items[row.id],
                "distribution": {
                    "status": dist.distribution_status,
                    "legal_basis": dist.legal_basis,
                    "delivered_at": dist.delivered_at,
                    "acknowledged_at": dist.acknowledged_at,
                },
            }
        )
    # Unlike other lists, the feed always hands back where the reader got to, also on the last
    # page: a polling integration resumes from it next time.
    resume = _encode([rows[-1].change_xid, rows[-1].change_seq]) if rows else cursor
    return SummaryPage(items=summaries, next_cursor=resume, has_more=has_more)


def acknowledge_summary(
    session: Session, p: Principal, summary_id: int, now: datetime | None = None
) -> Distribution:
    """The municipality acknowledges a summary it fetched."""
    if not p.has(Role.MUNICIPALITY) or p.municipality_id is None:
        raise Forbidden("only a municipality acknowledges meeting summaries")
    row = session.execute(
        select(Distribution, NetworkMeeting.patient_id)
        .join(MinutesVersion, MinutesVersion.id == Distribution.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .where(
            Distribution.minutes_version_id == summary_id,
            Distribution.recipient_organisation_id == p.municipality_id,
            Distribution.status != DistributionStatus.BLOCKED,
            Patient.municipality_id == p.municipality_id,
        )
    ).one_or_none()
    if row is None:
        raise _not_found(session, p, "meeting_summary", summary_id, "meeting summary")
    dist, patient_id = row
    audit.record(session, p, AuditAction.UPDATE, "meeting_summary", summary_id, patient_id)
    return acknowledge_received(session, dist, now or utcnow())


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
