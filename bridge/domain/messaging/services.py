"""Use cases of received messages: keep them, apply hospital notifications to stays, file
CareCommunications in the patient's threads, and read the threads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from bridge.domain import audit
from bridge.domain.access import Principal, patient_visible
from bridge.domain.audit import AuditAction
from bridge.domain.base import affected_rows
from bridge.domain.care import admissions as care
from bridge.domain.care.models import Admission, Destination, FollowUpStatus, FollowUpTask
from bridge.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from bridge.domain.messaging.data import CareMessage, Envelope, OrgIdent, StayEvent
from bridge.domain.messaging.models import (
    Direction,
    HospitalEpisode,
    InboundKind,
    InboundMessage,
    MessageAttachment,
    MessageThread,
    ThreadMessage,
)
from bridge.domain.patients.models import Patient, PatientStatus
from bridge.domain.patients.services import read_patient_scoped
from bridge.domain.registry.models import Organisation, OrganisationKind, Role

# --- the inbound record -----------------------------------------------------------------------


def check_sender(session: Session, p: Principal, sender: OrgIdent) -> Organisation:
    """The caller's organisation, which must be the message's sender (by SOR code or GLN)."""
    org = session.get(Organisation, p.organisation_id)
    assert org is not None
    same_sor = sender.sor_code is not None and sender.sor_code == org.sor_code
    same_gln = sender.gln is not None and sender.gln == org.gln
    if not (same_sor or same_gln):
        raise Forbidden("the MessageHeader's sender is not your organisation (SOR/GLN)")
    return org


def find_inbound(session: Session, organisation_id: int, header_id: str) -> InboundMessage | None:
    """The message this sender already sent with this MessageHeader id (MedCom's duplicate)."""
    return session.scalar(
        select(InboundMessage).where(
            InboundMessage.sender_organisation_id == organisation_id,
            InboundMessage.message_header_id == header_id,
        )
    )


def record_inbound(
    session: Session,
    p: Principal,
    envelope: Envelope,
    now: datetime,
    *,
    patient_id: int | None = None,
    activity: str | None = None,
    bundle: str | None = None,
) -> InboundMessage:
    """Keep a received message; its bundle only when it is about a patient Bridge holds."""
    kinds = {k.value for k in InboundKind}
    row = InboundMessage(
        sender_organisation_id=p.organisation_id,
        message_header_id=envelope.message_header_id,
        bundle_id=envelope.bundle_id,
        kind=InboundKind(envelope.event) if envelope.event in kinds else InboundKind.UNKNOWN,
        activity=activity,
        patient_id=patient_id,
        received_at=now,
        received_by_id=p.staff_id,
        bundle=bundle if patient_id is not None else None,
    )
    session.add(row)
    session.flush()
    if patient_id is not None:
        audit.record(session, p, AuditAction.CREATE, "inbound_message", row.id, patient_id)
    return row


def patient_by_cpr(session: Session, cpr: str | None) -> Patient | None:
    """The patient with this CPR number, whoever may see them: the message comes to Bridge."""
    if cpr is None:
        return None
    return session.scalar(select(Patient).where(Patient.cpr == cpr))


# --- hospital notifications -------------------------------------------------------------------


def apply_stay_event(
    session: Session, p: Principal, patient: Patient, event: StayEvent, inbound: InboundMessage
) -> None:
    """Update the patient's stays as a hospital notification says, through the same services
    as a stay registered by hand (flags, follow-up plans, the GP's discharge notice)."""
    department = session.get(Organisation, p.organisation_id)
    if (
        department is None
        or department.kind != OrganisationKind.HOSPITAL_DEPARTMENT
        or not p.has(Role.HOSPITAL)
    ):
        raise RuleViolation("only a hospital department's system account sends stays")
    if event.activity.startswith("cancel-"):
        _cancel(session, p, event, inbound)
        return
    episode = session.scalar(
        select(HospitalEpisode).where(
            HospitalEpisode.department_id == department.id,
            HospitalEpisode.episode_identifier == event.episode_identifier,
        )
    )
    if episode is None:
        episode = HospitalEpisode(
            patient_id=patient.id,
            department_id=department.id,
            episode_identifier=event.episode_identifier,
        )
        session.add(episode)
    admission = session.get(Admission, episode.admission_id) if episode.admission_id else None
    inbound.previous_state = json.dumps(
        {"on_leave_since": episode.on_leave_since.isoformat() if episode.on_leave_since else None}
    )
    if admission is None:
        # A later event may arrive first (or the admission was never sent): the stay starts
        # at the encounter's start either way.
        try:
            admission = care.register_admission(
                session,
                p,
                {
                    # The notification names the person by CPR: a department that does not yet
                    # see the patient gains sight by this stay, as at its admissions desk.
                    "cpr": patient.cpr,
                    "department_id": department.id,
                    "acute": event.emergency or "emergency" in event.activity,
                    "admitted_at": event.start,
                },
            )
            inbound.effect = "admitted"
        except Conflict as exc:
            # Already registered by hand: the notification is about that stay.
            admission = session.get(Admission, exc.extra["admission_id"])
            assert admission is not None
        episode.admission_id = admission.id
    elif event.activity.startswith("revise-admit") and admission.discharged_at is None:
        admission.admitted_at = event.start
        inbound.effect = "revised"
    inbound.admission_id = admission.id
    if event.status == "onleave" and event.leave_start is not None:
        episode.on_leave_since = event.leave_start
        inbound.effect = "leave_started"
    elif event.activity.startswith("end-leave"):
        episode.on_leave_since = None
        inbound.effect = "leave_ended"
    if event.status == "finished" and admission.discharged_at is None and event.end is not None:
        care.discharge(
            session,
            p,
            admission.id,
            {
                "discharged_at": event.end,
                "destination": Destination.DECEASED if event.deceased else Destination.HOME,
            },
        )
        episode.on_leave_since = None
        inbound.effect = "deceased" if event.deceased else "discharged"
    if event.deceased:
        patient.status = PatientStatus.DECEASED
        inbound.effect = "deceased"
    session.flush()


def _cancel(session: Session, p: Principal, event: StayEvent, inbound: InboundMessage) -> None:
    """Undo what the cancelled message did (MedCom: Provenance entity with role 'removal')."""
    assert event.cancels_header_id is not None
    cancelled = find_inbound(session, p.organisation_id, event.cancels_header_id)
    inbound.effect = "cancelled"
    if cancelled is None or cancelled.cancelled_at is not None or cancelled.admission_id is None:
        return  # nothing Bridge did, so nothing to undo
    admission = session.get(Admission, cancelled.admission_id)
    episode = session.scalar(
        select(HospitalEpisode).where(HospitalEpisode.admission_id == cancelled.admission_id)
    )
    cancelled.cancelled_at = inbound.received_at
    inbound.admission_id = cancelled.admission_id
    audit.record(
        session, p, AuditAction.UPDATE, "admission", cancelled.admission_id, cancelled.patient_id
    )
    if admission is None:
        return
    if cancelled.effect in ("discharged", "deceased"):
        _undo_discharge(session, admission)
        if cancelled.effect == "deceased":
            patient = session.get(Patient, admission.patient_id)
            if patient is not None and patient.status == PatientStatus.DECEASED:
                patient.status = PatientStatus.ACTIVE
    elif cancelled.effect == "admitted":
        _undo_discharge(session, admission)
        session.execute(delete(FollowUpTask).where(FollowUpTask.admission_id == admission.id))
        session.delete(admission)
        if episode is not None:
            episode.admission_id = None
            episode.on_leave_since = None
    elif cancelled.effect in ("leave_started", "leave_ended") and episode is not None:
        previous = json.loads(cancelled.previous_state or "{}").get("on_leave_since")
        episode.on_leave_since = datetime.fromisoformat(previous) if previous else None
    session.flush()


def _undo_discharge(session: Session, admission: Admission) -> None:
    if admission.discharged_at is None:
        return
    # Tasks nobody has started were made by that discharge; work already done stays.
    session.execute(
        delete(FollowUpTask).where(
            FollowUpTask.admission_id == admission.id,
            FollowUpTask.status == FollowUpStatus.OPEN,
        )
    )
    admission.discharged_at = None
    admission.destination = None
    admission.discharged_by_id = None


def episode_of(session: Session, admission_id: int) -> HospitalEpisode | None:
    """The hospital episode behind a stay registered from HospitalNotifications."""
    return session.scalar(
        select(HospitalEpisode).where(HospitalEpisode.admission_id == admission_id)
    )


# --- care communications ----------------------------------------------------------------------


def file_care_message(
    session: Session,
    p: Principal,
    patient: Patient,
    message: CareMessage,
    envelope: Envelope,
    inbound: InboundMessage,
    now: datetime,
) -> list[ThreadMessage]:
    """File a CareCommunication in the patient's thread: each payload not seen before becomes
    a message (a reply repeats the thread's earlier payloads), attachments with their message."""
    thread = session.scalar(
        select(MessageThread).where(
            MessageThread.patient_id == patient.id,
            MessageThread.thread_identifier == message.thread_identifier,
        )
    )
    if thread is None:
        thread = MessageThread(
            patient_id=patient.id,
            thread_identifier=message.thread_identifier,
            topic=message.topic,
            category=message.category,
            organisation_id=p.organisation_id,
            created_at=now,
            last_message_at=now,
        )
        session.add(thread)
        session.flush()
    seen = set(
        session.scalars(
            select(ThreadMessage.payload_identifier).where(ThreadMessage.thread_id == thread.id)
        )
    )
    added: list[ThreadMessage] = []
    for payload in message.payloads:
        if payload.identifier in seen:
            continue
        seen.add(payload.identifier)
        row = ThreadMessage(
            thread_id=thread.id,
            patient_id=patient.id,
            direction=Direction.IN,
            activity=message.activity,
            organisation_id=p.organisation_id,
            message_header_id=envelope.message_header_id,
            payload_identifier=payload.identifier,
            author_name=payload.author_name,
            author_contact=payload.author_contact,
            text=payload.text or "",
            sent_at=payload.sent_at,
            received_at=now,
        )
        session.add(row)
        added.append(row)
        if payload.attachment is not None:
            a = payload.attachment
            session.flush()
            session.add(
                MessageAttachment(
                    message_id=row.id,
                    content_type=a.content_type,
                    title=a.title,
                    url=a.url,
                    data=a.data,
                    size=len(a.data or b""),
                )
            )
    thread.last_message_at = now
    inbound.effect = f"{len(added)} message(s)"
    session.flush()
    return added


@dataclass(frozen=True)
class ThreadView:
    thread: MessageThread
    messages: list[ThreadMessage]


def list_patient_threads(session: Session, p: Principal, patient_id: int) -> list[ThreadView]:
    """The patient's message threads, newest first, each with its messages (audited)."""
    read_patient_scoped(session, p, patient_id, "message_thread", AuditAction.LIST)
    threads = list(
        session.scalars(
            select(MessageThread)
            .where(MessageThread.patient_id == patient_id)
            .order_by(MessageThread.last_message_at.desc(), MessageThread.id.desc())
        )
    )
    messages = session.scalars(
        select(ThreadMessage)
        .where(ThreadMessage.patient_id == patient_id)
        .options(selectinload(ThreadMessage.attachments))
        .order_by(ThreadMessage.sent_at, ThreadMessage.id)
    ).all()
    by_thread: dict[int, list[ThreadMessage]] = {}
    for m in messages:
        by_thread.setdefault(m.thread_id, []).append(m)
    return [ThreadView(t, by_thread.get(t.id, [])) for t in threads]


def unread_messages(session: Session, p: Principal, patient_ids: list[int]) -> dict[int, int]:
    """How many received messages nobody has read yet, per patient (for the Today page)."""
    if not patient_ids:
        return {}
    rows = session.execute(
        select(ThreadMessage.patient_id, func.count())
        .where(
            ThreadMessage.patient_id.in_(patient_ids),
            ThreadMessage.direction == Direction.IN,
            ThreadMessage.read_at.is_(None),
        )
        .group_by(ThreadMessage.patient_id)
    ).all()
    return {pid: n for pid, n in rows}


def summary_of(row: InboundMessage) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind.value, "ack_code": row.ack_code, "effect": row.effect}


@dataclass(frozen=True)
class NewMessages:
    """Received messages about one patient that nobody has read yet."""

    patient_id: int
    patient_name: str
    count: int
    latest_at: datetime


def new_messages(session: Session, p: Principal, limit: int = 20) -> list[NewMessages]:
    """The caller's patients with unread received messages, newest first (one query; each
    patient named is noted in the access log)."""
    rows = session.execute(
        select(
            ThreadMessage.patient_id, Patient.name, func.count(), func.max(ThreadMessage.sent_at)
        )
        .join(Patient, Patient.id == ThreadMessage.patient_id)
        .where(
            ThreadMessage.direction == Direction.IN,
            ThreadMessage.read_at.is_(None),
            patient_visible(p),
        )
        .group_by(ThreadMessage.patient_id, Patient.name)
        .order_by(func.max(ThreadMessage.sent_at).desc())
        .limit(limit)
    ).all()
    for patient_id, _name, _count, _latest in rows:
        audit.record(session, p, AuditAction.LIST, "thread_message", None, patient_id)
    return [NewMessages(pid, name, count, latest) for pid, name, count, latest in rows]


def mark_read(session: Session, p: Principal, patient_id: int, now: datetime) -> int:
    """The patient's received messages are read (she has opened them); returns how many."""
    read_patient_scoped(session, p, patient_id, "thread_message", AuditAction.UPDATE)
    result = session.execute(
        update(ThreadMessage)
        .where(
            ThreadMessage.patient_id == patient_id,
            ThreadMessage.direction == Direction.IN,
            ThreadMessage.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)


def get_attachment(session: Session, p: Principal, attachment_id: int) -> MessageAttachment:
    """A received attachment, for whoever may see its patient (read noted in the access log)."""
    attachment = session.get(MessageAttachment, attachment_id)
    message = session.get(ThreadMessage, attachment.message_id) if attachment else None
    if attachment is None or message is None:
        raise NotFound("no such attachment")
    read_patient_scoped(
        session, p, message.patient_id, "message_attachment", AuditAction.READ, attachment.id
    )
    return attachment
