"""Requests to join the care of a person already in Bridge (what registering them becomes)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal
from bridge.api.schemas import (
    CopenhagenDateTime,
    Id,
    PageArgsSchema,
    StrictSchema,
    page_schema,
    text,
)
from bridge.domain.patients import registration
from bridge.domain.patients.models import CareRequestStatus
from bridge.extensions import db

URL_PREFIX = "/care-requests"
blp = Blueprint(
    "care_requests",
    __name__,
    description="Requests to join the care of a person already in Bridge: registering someone "
    "you may not see sends one to their nurse, who accepts (the course passes to you) or declines",
)


class CareRequestSchema(StrictSchema):
    id = Id(dump_only=True)
    patient_id = Id(
        attribute="shown_patient_id",
        dump_only=True,
        allow_none=True,
        metadata={"description": "only for a caller who may see the patient"},
    )
    status = fields.Enum(CareRequestStatus, by_value=True, dump_only=True)
    reason = fields.String(dump_only=True)
    requested_by_id = Id(dump_only=True)
    decided_by_id = Id(dump_only=True, allow_none=True)
    decided_at = CopenhagenDateTime(dump_only=True, allow_none=True)
    decision_note = fields.String(dump_only=True, allow_none=True)
    created_at = CopenhagenDateTime(dump_only=True)


class DecisionSchema(StrictSchema):
    note = text(500, allow_none=True)


CareRequestPageSchema = page_schema(CareRequestSchema, "CareRequestPage")


@blp.route("")
class CareRequests(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CareRequestPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Your own care requests, and those about patients whose course you hold (admin: all)"""
        return registration.list_care_requests(
            db.session(), current_principal(), cursor=args["cursor"], limit=args["limit"]
        )


@blp.route("/<int:request_id>/accept")
class Accept(MethodView):
    @blp.arguments(DecisionSchema)
    @blp.response(200, CareRequestSchema)
    def post(self, data: dict[str, Any], request_id: int) -> Any:
        """Accept: the course passes to the requester (the patient's nurse, admin)"""
        return registration.decide_care_request(
            db.session(), current_principal(), request_id, True, data.get("note")
        )


@blp.route("/<int:request_id>/decline")
class Decline(MethodView):
    @blp.arguments(DecisionSchema)
    @blp.response(200, CareRequestSchema)
    def post(self, data: dict[str, Any], request_id: int) -> Any:
        """Decline: nothing changes, the requester sees the answer (the patient's nurse, admin)"""
        return registration.decide_care_request(
            db.session(), current_principal(), request_id, False, data.get("note")
        )
