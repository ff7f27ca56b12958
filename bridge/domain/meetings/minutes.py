"""Minutes of a held meeting: write, edit, finalise (queuing their distribution), amend.

Municipalities read final minutes through their feed (``summary_feed``), GPs through the
notifications outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, joinedload, selectinload

from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import get_existing, utcnow
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.meetings import lifecycle, outbox
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
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    ParticipantKind,
)
from bridge.domain.meetings.scheduling import _active_nurse_id
from bridge.domain.meetings.scoping import _load_meeting, meeting_with_participants
from bridge.domain.patients.models import Consent, Patient, Relative
from bridge.domain.registry.effective import copenhagen_today, valid_between
from bridge.domain.registry.models import Organisation

# --- minutes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionItemInput:
    """An action item as the minutes state it."""

    description: str
    responsible_organisation_id: int | None = None
    person: str | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class NewMinutes:
    """The first draft of a held meeting's minutes."""

    summary: str = ""
    decisions: str = ""
    action_items: tuple[ActionItemInput, ...] = ()


def _action_items(session: Session, rows: Sequence[ActionItemInput]) -> list[ActionItem]:
    org_ids = {
        r.responsible_organisation_id for r in rows if r.responsible_organisation_id is not None
    }
    known = set(
        session.scalars(select(Organisation.id).where(Organisation.id.in_(org_ids)))
        if org_ids
        else []
    )
    items = []
    for i, r in enumerate(rows):
        org_id = r.responsible_organisation_id
        if org_id is not None and org_id not in known:
            raise RuleViolation(
                "no such organisation", field=f"action_items.{i}.responsible_organisation_id"
            )
        items.append(
            ActionItem(
                description=r.description,
                responsible_organisation_id=org_id,
                person=r.person,
                due_date=r.due_date,
                status=ActionItemStatus.OPEN,
            )
        )
    return items


def _inputs(rows: list[dict[str, Any]]) -> list[ActionItemInput]:
    # The edit and the amendment still take the validated dict (issue 14 item 8, to follow).
    return [ActionItemInput(**r) for r in rows]


def _versions_query(meeting_id: int | BindParameter) -> Select:
    return (
        select(MinutesVersion)
        .where(MinutesVersion.meeting_id == meeting_id)
        .options(selectinload(MinutesVersion.action_items))
    )


def create_minutes(
    session: Session, p: Principal, meeting_id: int, cmd: NewMinutes
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
        summary=cmd.summary,
        decisions=cmd.decisions,
        created_by_id=p.staff_id,
        created_at=now,
        updated_at=now,
    )
    version.action_items = _action_items(session, cmd.action_items)
    session.add(version)
    session.flush()
    return version


# Built once: the minutes are read far more often than written. The action items joined in (a
# meeting has a few versions with a few items each): selectinload's second statement cost the ORM
# more CPU than both queries cost the database.
_MINUTES_OLDEST_FIRST = (
    select(MinutesVersion)
    .where(MinutesVersion.meeting_id == bindparam("meeting_id"))
    .options(joinedload(MinutesVersion.action_items))
    .order_by(MinutesVersion.version_no)
)


def list_minutes(session: Session, p: Principal, meeting_id: int) -> list[MinutesVersion]:
    """Every version of a meeting's minutes, oldest first."""
    _load_meeting(session, p, meeting_id, participants=False)
    return list(session.scalars(_MINUTES_OLDEST_FIRST, {"meeting_id": meeting_id}).unique())


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
        version.action_items = _action_items(session, _inputs(data.pop("action_items")))
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
    meeting = meeting_with_participants(session, version.meeting_id)
    if meeting is None:
        raise LookupError(f"minutes {version.id} have no meeting")
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
    patient = get_existing(session, Patient, meeting.patient_id)
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
            relative_may_receive=bool(pt.relative_id and may_receive.get(pt.relative_id)),
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
                change_xid=version.change_xid,
                change_seq=version.change_seq,
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
        version.action_items = _action_items(session, _inputs(data["action_items"]))
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
    if version.id is not None:
        # Its copies already sent (an action item changed) move with it; new ones copy it.
        session.execute(
            update(Distribution)
            .where(Distribution.minutes_version_id == version.id)
            .values(change_xid=xid, change_seq=seq)
            .execution_options(synchronize_session=False)
        )


def _settled(dialect: str, stamped: Any = None) -> ColumnElement[bool]:
    """Whether the change position of ``stamped`` (the minutes version's table, or the
    distribution's, which carries a copy) belongs to a transaction every reader now sees."""
    version = MinutesVersion.__table__ if stamped is None else stamped
    if dialect != "postgresql":
        return version.c.change_seq.is_not(None)
    xmin: ColumnElement[int] = literal_column(
        "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    )
    # The reader's own writes are settled for the reader (and tests run in one transaction).
    own: ColumnElement[int] = literal_column("pg_current_xact_id_if_assigned()::text::bigint")
    return or_(version.c.change_xid < xmin, version.c.change_xid == own)
