"""The nurse answers a message she received, or passes it on: a reply to its sender, a forward to
another organisation. Either goes out through the outbox as a MedCom CareCommunication that
carries the thread it continues (the message as received rides along, opaque to the domain)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.errors import NotFound, RuleViolation
from bridge.domain.messaging.models import (
    Direction,
    InboundKind,
    InboundMessage,
    MessageThread,
    ThreadMessage,
)
from bridge.domain.notifications import NotificationEvent, enqueue_many
from bridge.domain.notifications.models import Channel
from bridge.domain.patients.models import CareTeamMember
from bridge.domain.patients.services import write_patient_scoped
from bridge.domain.registry.effective import copenhagen_today, is_valid_on, require_open
from bridge.domain.registry.models import Organisation, OrganisationKind, Staff

REPLY = "reply-message"
FORWARD = "forward-message"
TEXT_MAX = 10_000
#: Who a message may be forwarded to: the organisations that take MedCom CareCommunications.
FORWARD_KINDS = (
    OrganisationKind.GP_PRACTICE,
    OrganisationKind.MUNICIPALITY,
    OrganisationKind.HOSPITAL_DEPARTMENT,
    OrganisationKind.HOSPITAL,
    OrganisationKind.SPECIALIST_PRACTICE,
    OrganisationKind.SOCIAL_PSYCHIATRY_FACILITY,
)
_KIND = {REPLY: "care_reply", FORWARD: "care_forward"}


@dataclass(frozen=True)
class Reply:
    """A reply to a received message: its text."""

    text: str


@dataclass(frozen=True)
class Forward:
    """A received message passed on to ``recipient_organisation_id``, with a note."""

    recipient_organisation_id: int
    text: str


def reply_to_message(
    session: Session, p: Principal, message_id: int, cmd: Reply, now: datetime
) -> ThreadMessage:
    """Answer a received message; the answer goes to the organisation that sent it."""
    received, inbound = _received(session, p, message_id)
    if received.organisation_id is None:
        raise RuleViolation("the message names no sender to answer", field="message_id")
    return _send(session, p, received, inbound, REPLY, received.organisation_id, cmd.text, now)


def forward_message(
    session: Session, p: Principal, message_id: int, cmd: Forward, now: datetime
) -> ThreadMessage:
    """Pass a received message on to another organisation, with the nurse's note."""
    received, inbound = _received(session, p, message_id)
    recipient = session.get(Organisation, cmd.recipient_organisation_id)
    if recipient is None or recipient.kind not in FORWARD_KINDS:
        raise RuleViolation(
            "choose a GP practice, municipality, hospital or facility",
            field="recipient_organisation_id",
        )
    require_open(recipient, copenhagen_today(now), "recipient_organisation_id")
    if recipient.id == received.organisation_id:
        raise RuleViolation(
            "the message came from this organisation: reply instead",
            field="recipient_organisation_id",
        )
    return _send(session, p, received, inbound, FORWARD, recipient.id, cmd.text, now)


def _received(
    session: Session, p: Principal, message_id: int
) -> tuple[ThreadMessage, InboundMessage]:
    """A received message of a patient the caller may write for, with the Bundle it came in."""
    message = session.get(ThreadMessage, message_id)
    if message is None:
        raise NotFound("no such message")
    write_patient_scoped(session, p, message.patient_id, "thread_message", AuditAction.CREATE)
    if message.direction != Direction.IN or message.organisation_id is None:
        raise RuleViolation("only a received message can be answered or passed on", field="id")
    inbound = session.scalar(
        select(InboundMessage).where(
            InboundMessage.sender_organisation_id == message.organisation_id,
            InboundMessage.message_header_id == message.message_header_id,
            InboundMessage.kind == InboundKind.CARE_COMMUNICATION,
        )
    )
    if inbound is None or not inbound.bundle:
        raise RuleViolation("the message as received is not kept", field="id")
    return message, inbound


def _send(
    session: Session,
    p: Principal,
    received: ThreadMessage,
    inbound: InboundMessage,
    activity: str,
    recipient_id: int,
    text: str,
    now: datetime,
) -> ThreadMessage:
    text = text.strip()
    if not text:
        raise RuleViolation("write the message", field="text")
    if len(text) > TEXT_MAX:
        raise RuleViolation(f"at most {TEXT_MAX} characters", field="text")
    thread = session.get(MessageThread, received.thread_id)
    author = session.get(Staff, p.staff_id)
    sent = ThreadMessage(
        thread_id=received.thread_id,
        patient_id=received.patient_id,
        direction=Direction.OUT,
        activity=activity,
        organisation_id=p.organisation_id,
        recipient_organisation_id=recipient_id,
        message_header_id=str(uuid.uuid4()),
        payload_identifier=f"urn:uuid:{uuid.uuid4()}",
        author_name=author.name if author else None,
        text=text,
        sent_at=now,
        received_at=now,
        read_at=now,
        attachments=[],
    )
    session.add(sent)
    session.flush()
    payload: dict[str, Any] = {
        "ref": {"type": "thread_message", "id": sent.id},
        "link": f"/api/v1/patients/{received.patient_id}/messages",
        "title": thread.topic if thread else None,
        "message": text,
        "author_staff_id": p.staff_id,
        "author_name": sent.author_name,
        "thread": {"activity": activity, "earlier": json.loads(inbound.bundle or "{}")},
    }
    rows = enqueue_many(
        session,
        [
            NotificationEvent(
                recipient_organisation_id=recipient_id,
                kind=_KIND[activity],
                patient_id=received.patient_id,
                payload=payload,
                source_type="thread_message",
                source_id=sent.id,
                idempotency_key=f"thread_message:{sent.id}",
            )
        ],
    )
    medcom = [n for n in rows if n.channel == Channel.FHIR]
    if medcom:
        # The MessageHeader the receiver will acknowledge is the outbox's.
        sent.message_header_id = str(medcom[0].message_header_id)
        sent.notification_id = medcom[0].id
    elif rows:
        sent.notification_id = rows[0].id
    if thread is not None:
        thread.last_message_at = now
    received.read_at = received.read_at or now
    return sent


def forward_recipients(session: Session, p: Principal, patient_id: int) -> list[Organisation]:
    """Who a message about the patient may be passed on to: the organisations around the
    patient (GP practice, municipality, care team) that are open today."""
    patient = write_patient_scoped(session, p, patient_id, "thread_message", AuditAction.LIST)
    ids: set[int | None] = {patient.gp_practice_id, patient.municipality_id} | set(
        session.scalars(
            select(CareTeamMember.organisation_id).where(CareTeamMember.patient_id == patient.id)
        )
    )
    today = copenhagen_today()
    orgs = session.scalars(
        select(Organisation)
        .where(Organisation.id.in_(ids - {None}), Organisation.kind.in_(FORWARD_KINDS))
        .order_by(Organisation.name)
    )
    return [o for o in orgs if is_valid_on(o, today)]
