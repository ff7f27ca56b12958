"""The inbound MedCom door (FHIR messaging) and the patient's message threads."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from flask.views import MethodView
from marshmallow import fields

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal
from bridge.api.schemas import CopenhagenDateTime, Id, StrictSchema, text
from bridge.config import current_settings
from bridge.domain.base import utcnow
from bridge.domain.messaging import replies, services
from bridge.domain.messaging.data import OrgIdent
from bridge.extensions import db
from bridge.medcom.process import process_message

URL_PREFIX = ""
PROCESS_MESSAGE_PATH = "/api/v1/fhir/$process-message"
FHIR_JSON = "application/fhir+json"
blp = Blueprint(
    "fhir_messaging",
    __name__,
    description="MedCom messages received (CareCommunication, HospitalNotification, "
    "Acknowledgement) and the patients' message threads",
)


def _own_identity() -> OrgIdent | None:
    """Bridge's own MedCom address (the dispatcher's sender settings), if configured."""

    settings = current_settings()
    if not settings.MEDCOM_SENDER_SOR:
        return None
    return OrgIdent(
        settings.MEDCOM_SENDER_NAME, settings.MEDCOM_SENDER_SOR, settings.MEDCOM_SENDER_GLN
    )


@blp.route("/fhir/$process-message")
class ProcessMessage(MethodView):
    @blp.response(200, description="a MedCom Acknowledgement Bundle (application/fhir+json)")
    @blp.alt_response(204, description="an Acknowledgement was received (never acknowledged)")
    def post(self) -> Any:
        """Receive a MedCom message Bundle (application/fhir+json) from your organisation"""
        # A FHIR Bundle is checked against its MedCom profile by bridge.medcom, not marshmallow.
        body = request.get_json(silent=True)
        answer = process_message(
            db.session(),
            current_principal(),
            body,
            utcnow(),
            _own_identity(),
            current_settings().retry_policy(),
        )
        if answer.ack is None:
            return Response(status=204)
        headers = {"Idempotent-Replayed": "true"} if answer.duplicate else {}
        return Response(json.dumps(answer.ack), 200, headers, mimetype=FHIR_JSON)


class AttachmentSchema(StrictSchema):
    id = Id()
    content_type = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    size = fields.Integer()


class ThreadMessageSchema(StrictSchema):
    id = Id()
    direction = fields.String()
    activity = fields.String()
    organisation_id = Id(allow_none=True)
    recipient_organisation_id = Id(allow_none=True)
    message_header_id = fields.String()
    author_name = fields.String(allow_none=True)
    author_contact = fields.String(allow_none=True)
    text = fields.String()
    sent_at = CopenhagenDateTime()
    received_at = CopenhagenDateTime()
    read_at = CopenhagenDateTime(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema))


class ThreadSchema(StrictSchema):
    id = Id(attribute="thread.id")
    topic = fields.String(attribute="thread.topic", allow_none=True)
    category = fields.String(attribute="thread.category")
    organisation_id = Id(attribute="thread.organisation_id", allow_none=True)
    last_message_at = CopenhagenDateTime(attribute="thread.last_message_at")
    messages = fields.List(fields.Nested(ThreadMessageSchema))


@blp.route("/patients/<int:patient_id>/messages")
class PatientMessages(MethodView):
    @blp.response(200, ThreadSchema(many=True))
    def get(self, patient_id: int) -> Any:
        """The patient's message threads with the messages received and sent"""
        return services.list_patient_threads(db.session(), current_principal(), patient_id)


class ReplySchema(StrictSchema):
    text = text(replies.TEXT_MAX, required=True)


class ForwardSchema(StrictSchema):
    recipient_organisation_id = Id(required=True)
    text = text(replies.TEXT_MAX, required=True)


@blp.route("/messages/<int:message_id>/reply")
class MessageReply(MethodView):
    @blp.arguments(ReplySchema)
    @blp.response(201, ThreadMessageSchema)
    def post(self, data: dict[str, Any], message_id: int) -> Any:
        """Answer a received message (nurse, admin)

        The answer goes to the organisation that sent the message, as a MedCom
        CareCommunication reply that carries the whole thread (MedCom's Provenance chain)."""
        cmd = replies.Reply(text=data["text"])
        return replies.reply_to_message(
            db.session(), current_principal(), message_id, cmd, utcnow()
        )


@blp.route("/messages/<int:message_id>/forward")
class MessageForward(MethodView):
    @blp.arguments(ForwardSchema)
    @blp.response(201, ThreadMessageSchema)
    def post(self, data: dict[str, Any], message_id: int) -> Any:
        """Pass a received message on to another organisation, with a note (nurse, admin)

        Sent as a MedCom CareCommunication forward that carries the thread as received."""
        cmd = replies.Forward(
            recipient_organisation_id=data["recipient_organisation_id"], text=data["text"]
        )
        return replies.forward_message(db.session(), current_principal(), message_id, cmd, utcnow())
