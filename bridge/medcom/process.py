"""The inbound door: one MedCom message in, its effect, one Acknowledgement out.

MedCom's rules, in order: the sender must be the caller's organisation; the same message
again (same sender and MessageHeader id) gets the stored answer and changes nothing; an
Acknowledgement is never acknowledged; a message that breaks its profile gets a fatal-error
acknowledgement with an OperationOutcome saying why, and changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.errors import RuleViolation
from bridge.domain.messaging import services as messaging
from bridge.domain.messaging.data import AckIssue, Envelope, OrgIdent
from bridge.domain.notifications import acknowledgements as notifications
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.messages import Acknowledgement
from bridge.domain.notifications.models import Notification
from bridge.medcom import codes, inbound
from bridge.medcom.acknowledgement import build_ack


@dataclass(frozen=True)
class Answer:
    """What the door answers: an Acknowledgement Bundle, or nothing (to an acknowledgement)."""

    ack: dict[str, Any] | None
    duplicate: bool = False
    notification: Notification | None = None


def process_message(
    session: Session,
    p: Principal,
    body: Any,
    now: datetime,
    own: OrgIdent | None = None,
    policy: RetryPolicy | None = None,
) -> Answer:
    """Take one MedCom message from the caller's organisation and answer it."""
    try:
        envelope, msg = inbound.read_envelope(body)
    except inbound.NotAMessage as exc:
        raise RuleViolation(str(exc), field="body") from None
    except inbound.Refused as exc:
        raise RuleViolation(exc.issue.text, field="body") from None
    messaging.check_sender(session, p, envelope.sender)
    stored = messaging.find_inbound(session, p.organisation_id, envelope.message_header_id)
    if stored is not None:
        return Answer(json.loads(stored.ack_bundle) if stored.ack_bundle else None, True)
    if envelope.event == codes.ACKNOWLEDGEMENT:
        n = _acknowledgement(session, p, envelope, msg, now, policy)
        messaging.record_inbound(session, p, envelope, now, patient_id=n.patient_id)
        return Answer(None, notification=n)
    issue: AckIssue | None = None
    activity: str | None = None
    record = None
    try:
        if envelope.event == codes.HOSPITAL_NOTIFICATION:
            event = inbound.read_hospital_notification(envelope, msg)
            activity = event.activity
            patient = messaging.patient_by_cpr(session, event.cpr)
            if patient is not None:
                with session.begin_nested():
                    record = messaging.record_inbound(
                        session, p, envelope, now, patient_id=patient.id, activity=activity,
                        bundle=json.dumps(body),
                    )  # fmt: skip
                    messaging.apply_stay_event(session, p, patient, event, record)
        elif envelope.event == codes.CARE_COMMUNICATION:
            message = inbound.read_care_communication(envelope, msg)
            activity = message.activity
            patient = messaging.patient_by_cpr(session, message.cpr)
            if patient is not None:
                with session.begin_nested():
                    record = messaging.record_inbound(
                        session, p, envelope, now, patient_id=patient.id, activity=activity,
                        bundle=json.dumps(body),
                    )  # fmt: skip
                    messaging.file_care_message(session, p, patient, message, envelope, record, now)
        else:
            raise inbound.Refused(
                AckIssue(
                    "fatal-error",
                    "not-supported",
                    "MSG_RECEIVER_UNABLE_TO_RECEIVE_MSG_TYPE",
                    f"Bridge does not receive {envelope.event or 'this kind of'} messages",
                )
            )
        _check_receiver(envelope, own)
    except inbound.Refused as exc:
        issue = exc.issue
    except RuleViolation as exc:
        issue = AckIssue("fatal-error", "business-rule", "MSG_LOCAL_FAIL", exc.detail[:500])
    if issue is not None or record is None:
        # Refused, or about a person Bridge does not hold: only the envelope ids are kept.
        record = messaging.record_inbound(session, p, envelope, now, activity=activity)
    ack = build_ack(
        acknowledged_header_id=envelope.message_header_id,
        sender=_ack_sender(envelope, own),
        receiver=envelope.sender,
        issue=issue,
        now=now,
        acknowledged_message=body if isinstance(body, dict) else None,
    )
    record.ack_code = "ok" if issue is None else issue.code
    record.ack_bundle = json.dumps(ack)
    session.flush()
    return Answer(ack)


def _check_receiver(envelope: Envelope, own: OrgIdent | None) -> None:
    if own is None or envelope.receiver is None:
        return
    if envelope.receiver.sor_code != own.sor_code:
        raise inbound.Refused(
            AckIssue(
                "fatal-error",
                "not-found",
                "MSG_Receiver_Identifier_UNKNOWN",
                f"the receiver SOR {envelope.receiver.sor_code} is not Bridge",
            )
        )


def _ack_sender(envelope: Envelope, own: OrgIdent | None) -> OrgIdent:
    # The acknowledgement comes from the address the message was sent to.
    if envelope.receiver is not None and envelope.receiver.sor_code:
        return envelope.receiver
    return own or OrgIdent(name="Bridge", sor_code="0", gln=None)


def _acknowledgement(
    session: Session,
    p: Principal,
    envelope: Envelope,
    msg: Any,
    now: datetime,
    policy: RetryPolicy | None = None,
) -> Notification:
    try:
        acked, code, reason = inbound.check_acknowledgement(envelope, msg)
    except inbound.Refused as exc:
        # Never acknowledged: a broken acknowledgement is refused over HTTP, and the message
        # it was about keeps waiting for a proper one (and is resent if none comes).
        raise RuleViolation(f"invalid acknowledgement: {exc.issue.text}", field="body") from None
    return notifications.record_acknowledgement(
        session, p, Acknowledgement(acked, code, reason), now, policy
    )


def receive_acknowledgement(
    session: Session, p: Principal, body: Any, now: datetime, policy: RetryPolicy | None = None
) -> Notification:
    """The older door for acknowledgements only (``/fhir/acknowledgements``), same checks."""
    try:
        envelope, msg = inbound.read_envelope(body)
    except (inbound.NotAMessage, inbound.Refused) as exc:
        raise RuleViolation(f"not an acknowledgement: {exc}", field="body") from None
    if envelope.event != codes.ACKNOWLEDGEMENT:
        raise RuleViolation("not an acknowledgement: wrong MessageHeader event", field="body")
    return _acknowledgement(session, p, envelope, msg, now, policy)
