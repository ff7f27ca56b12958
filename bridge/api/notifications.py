"""Notifications: the organisation's inbox, MedCom acknowledgements, and delivery endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request
from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api import examples
from bridge.api.contract import Blueprint
from bridge.api.http import current_principal
from bridge.api.schemas import (
    CopenhagenDateTime,
    Id,
    PageArgsSchema,
    StrictSchema,
    nullable_as_stored,
    page_schema,
    text,
)
from bridge.config import current_settings
from bridge.domain.base import utcnow
from bridge.domain.notifications import endpoints as endpoints_service
from bridge.domain.notifications import inbox as inbox_service
from bridge.domain.notifications.models import (
    Channel,
    DeliveryEndpoint,
    Notification,
    NotificationStatus,
)
from bridge.domain.notifications.texts import LANGUAGES
from bridge.extensions import db
from bridge.medcom.process import receive_acknowledgement

# Three resources share this area, so the blueprint is mounted at the API root.
URL_PREFIX = ""
blp = Blueprint(
    "notifications",
    __name__,
    description="Notifications: inbox, MedCom acknowledgements, delivery endpoints",
)


@nullable_as_stored(Notification)
class InboxItemSchema(StrictSchema):
    id = Id(big=True)
    kind = fields.String()
    status = fields.String()
    created_at = CopenhagenDateTime()
    acknowledged_at = CopenhagenDateTime(allow_none=True)
    patient_id = Id(allow_none=True)
    patient_name = fields.String(allow_none=True)
    patient_cpr_masked = fields.String(allow_none=True, metadata={"description": "DDMMYY-xxxx"})
    patient_cpr = fields.String(
        allow_none=True,
        metadata={
            "description": "the full CPR, only with ?include=cpr and only for the patient's own "
            "municipality or GP practice (each disclosure is in the patient's access log)"
        },
    )
    subject = fields.String()
    body = fields.String()
    link = fields.String(metadata={"description": "path of the resource in this API"})
    ref = fields.Dict(metadata={"description": "ids of what the message is about"})


class InboxQuerySchema(PageArgsSchema):
    unacknowledged = fields.Boolean(load_default=False)
    lang = fields.String(load_default="da", validate=validate.OneOf(LANGUAGES))
    include = fields.String(
        load_default=None,
        validate=validate.OneOf(["cpr"]),
        metadata={"description": "cpr: the full CPR of your own citizens or listed patients"},
    )


class NotificationStatusSchema(StrictSchema):
    id = Id(big=True)
    kind = fields.String()
    channel = fields.Enum(Channel, by_value=True)
    status = fields.Enum(NotificationStatus, by_value=True)
    acknowledged_at = CopenhagenDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)


@nullable_as_stored(DeliveryEndpoint)
class EndpointSchema(StrictSchema):
    id = Id(dump_only=True)
    organisation_id = Id(dump_only=True)
    channel = fields.Enum(Channel, by_value=True, required=True)
    url = text(500, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    active = fields.Boolean(dump_only=True)
    disabled_reason = fields.String(dump_only=True)
    previous_valid_until = CopenhagenDateTime(dump_only=True)
    created_at = CopenhagenDateTime(dump_only=True)


class EndpointPatchSchema(StrictSchema):
    url = text(500)
    email = fields.Email(validate=validate.Length(max=254))
    active = fields.Boolean()


@nullable_as_stored(DeliveryEndpoint)
class EndpointWithSecretSchema(StrictSchema):
    endpoint = fields.Nested(EndpointSchema)
    secret = fields.String(
        allow_none=True,
        metadata={"description": "the webhook signing secret, shown this once (whsec_...)"},
    )


class RotateSecretSchema(StrictSchema):
    overlap_hours = fields.Integer(
        load_default=24,
        validate=validate.Range(min=0, max=24 * 7),
        metadata={"description": "how long the previous secret keeps signing too"},
    )


InboxPageSchema = page_schema(InboxItemSchema, "InboxPage")


@blp.route("/inbox")
class Inbox(MethodView):
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, InboxPageSchema, example=examples.INBOX_PAGE)
    def get(self, args: dict[str, Any]) -> Any:
        """Your organisation's messages, newest first

        Discharges, meeting invitations and minutes addressed to your organisation, for those who
        read them here rather than by MedCom or webhook. `?unacknowledged=true` leaves out what
        you have acknowledged; `?lang=en` gives the texts in English."""
        return inbox_service.list_inbox(
            db.session(),
            current_principal(),
            cursor=args["cursor"],
            limit=args["limit"],
            unacknowledged=args["unacknowledged"],
            language=args["lang"],
            include_cpr=args["include"] == "cpr",
        )


@blp.route("/inbox/<bigid:notification_id>")
class InboxItem(MethodView):
    @blp.arguments(InboxQuerySchema(only=("lang", "include")), location="query")
    @blp.response(200, InboxItemSchema)
    def get(self, args: dict[str, Any], notification_id: int) -> Any:
        """Read one message of your organisation's inbox"""
        return inbox_service.get_inbox_item(
            db.session(),
            current_principal(),
            notification_id,
            language=args["lang"],
            include_cpr=args["include"] == "cpr",
        )


@blp.route("/inbox/<bigid:notification_id>/ack")
class InboxAck(MethodView):
    @blp.response(200, NotificationStatusSchema, example=examples.ACKNOWLEDGED_NOTIFICATION)
    def post(self, notification_id: int) -> Any:
        """Acknowledge that your organisation has received a message

        The sender (the bridge nurse) sees the message as acknowledged; it is not retried."""
        return inbox_service.acknowledge_inbox(
            db.session(), current_principal(), notification_id, utcnow()
        )


@blp.route("/fhir/acknowledgements")
class FhirAcknowledgements(MethodView):
    @blp.response(200, NotificationStatusSchema, example=examples.ACKNOWLEDGED_NOTIFICATION)
    def post(self) -> Any:
        """Receive a MedCom Acknowledgement (application/fhir+json) for a message sent to you

        The body is the Acknowledgement Bundle your system returns for a message Bridge sent; a
        positive one marks the message acknowledged, a negative one marks it failed with the
        reason. The answer is the message's status."""
        # A FHIR Bundle is validated by the FHIR codec (bridge.adapters), not by marshmallow.
        bundle = request.get_json(silent=True)
        return receive_acknowledgement(
            db.session(), current_principal(), bundle, utcnow(), current_settings().retry_policy()
        )


@blp.route("/organisations/<int:org_id>/endpoints")
class Endpoints(MethodView):
    @blp.response(200, EndpointSchema(many=True))
    def get(self, org_id: int) -> Any:
        """List an organisation's delivery endpoints (admin; secrets are never listed)"""
        return endpoints_service.list_endpoints(db.session(), current_principal(), org_id)

    @blp.arguments(EndpointSchema)
    @blp.response(201, EndpointWithSecretSchema)
    def post(self, data: dict[str, Any], org_id: int) -> Any:
        """Configure a FHIR, webhook or email endpoint (admin; a webhook's secret is shown once)"""
        cmd = endpoints_service.NewEndpoint(
            channel=data["channel"], url=data.get("url"), email=data.get("email")
        )
        return endpoints_service.create_endpoint(
            db.session(),
            current_principal(),
            org_id,
            cmd,
            current_settings().BRIDGE_ENDPOINT_ALLOWED_HOSTS,
        )


@blp.route("/organisations/<int:org_id>/endpoints/<int:endpoint_id>")
class EndpointById(MethodView):
    @blp.arguments(EndpointPatchSchema)
    @blp.response(200, EndpointSchema)
    def patch(self, data: dict[str, Any], org_id: int, endpoint_id: int) -> Any:
        """Change an endpoint's address, or re-enable it after a 410 (admin)"""
        return endpoints_service.update_endpoint(
            db.session(),
            current_principal(),
            org_id,
            endpoint_id,
            data,
            current_settings().BRIDGE_ENDPOINT_ALLOWED_HOSTS,
        )


@blp.route("/organisations/<int:org_id>/endpoints/<int:endpoint_id>/rotate-secret")
class EndpointRotate(MethodView):
    @blp.arguments(RotateSecretSchema)
    @blp.response(200, EndpointWithSecretSchema)
    def post(self, data: dict[str, Any], org_id: int, endpoint_id: int) -> Any:
        """Rotate a webhook secret; the old one keeps signing during the overlap (admin)"""
        return endpoints_service.rotate_webhook_secret(
            db.session(),
            current_principal(),
            org_id,
            endpoint_id,
            utcnow(),
            timedelta(hours=data["overlap_hours"]),
        )
