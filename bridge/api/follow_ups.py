"""Follow-up tasks after discharge: listed by owner and deadline, worked by nurse and owner."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal, require_if_match, with_etag
from bridge.api.schemas import (
    CopenhagenDateTime,
    Id,
    PageArgsSchema,
    StrictSchema,
    nullable_as_stored,
    page_schema,
    text,
)
from bridge.domain.care import follow_ups as follow_ups_service
from bridge.domain.care.models import FollowUpStatus, FollowUpTask, ResponsibleKind
from bridge.extensions import db

URL_PREFIX = "/follow-ups"
blp = Blueprint("follow_ups", __name__, description="Follow-up tasks after discharge")


@nullable_as_stored(FollowUpTask)
class FollowUpSchema(StrictSchema):
    id = Id(dump_only=True)
    patient_id = Id(required=True)
    admission_id = Id(allow_none=True)
    template_id = Id(dump_only=True)
    title = text(200, required=True)
    responsible_kind = fields.Enum(ResponsibleKind, by_value=True, required=True)
    responsible_organisation_id = Id(allow_none=True)
    responsible_staff_id = Id(allow_none=True)
    due_at = CopenhagenDateTime(required=True)
    due_on = fields.Date(
        dump_only=True,
        metadata={"description": "the day the deadline ends on (due_at is the instant after it)"},
    )
    status = fields.Enum(FollowUpStatus, by_value=True, dump_only=True)
    done_by_id = Id(dump_only=True)
    done_at = CopenhagenDateTime(dump_only=True)
    done_note = fields.String(dump_only=True)
    cancelled_by_id = Id(dump_only=True)
    cancelled_at = CopenhagenDateTime(dump_only=True)
    cancel_reason = fields.String(dump_only=True)
    created_by_id = Id(dump_only=True)
    created_at = CopenhagenDateTime(dump_only=True)


class FollowUpPatchSchema(StrictSchema):
    responsible_kind = fields.Enum(ResponsibleKind, by_value=True)
    responsible_organisation_id = Id(allow_none=True)
    responsible_staff_id = Id(allow_none=True)
    due_at = CopenhagenDateTime()
    status = fields.Enum(
        FollowUpStatus,
        by_value=True,
        validate=validate.OneOf([FollowUpStatus.CANCELLED]),
        metadata={"description": "only 'cancelled'; completing has its own endpoint"},
    )
    cancel_reason = text(500)


class CompleteSchema(StrictSchema):
    note = text(1000, allow_none=True)


ANY_STATUS = "any"


class FollowUpQuerySchema(PageArgsSchema):
    responsible = Id(
        load_default=None, metadata={"description": "the responsible organisation's id"}
    )
    status = fields.String(
        load_default=FollowUpStatus.OPEN.value,
        validate=validate.OneOf([*(s.value for s in FollowUpStatus), ANY_STATUS]),
        metadata={
            "description": "open tasks unless you ask for another status, or `any` for all: "
            "the list is a worklist"
        },
    )
    due_before = CopenhagenDateTime(load_default=None)
    patient = Id(load_default=None)


FollowUpPageSchema = page_schema(FollowUpSchema, "FollowUpPage")


@blp.route("")
class FollowUps(MethodView):
    @blp.arguments(FollowUpQuerySchema, location="query")
    @blp.response(200, FollowUpPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List tasks of the patients you may see, by deadline"""
        return follow_ups_service.list_follow_ups(
            db.session(),
            current_principal(),
            responsible=args["responsible"],
            status=None if args["status"] == ANY_STATUS else FollowUpStatus(args["status"]),
            due_before=args["due_before"],
            patient_id=args["patient"],
            cursor=args["cursor"],
            limit=args["limit"],
        )

    @blp.arguments(FollowUpSchema)
    @blp.response(201, FollowUpSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a task to a patient's plan (nurse, admin)"""
        return with_etag(
            follow_ups_service.add_follow_up(db.session(), current_principal(), data), 201
        )


@blp.route("/<int:task_id>")
class FollowUpById(MethodView):
    @blp.response(200, FollowUpSchema)
    def get(self, task_id: int) -> Any:
        """Read a task"""
        return with_etag(
            follow_ups_service.get_follow_up(db.session(), current_principal(), task_id)
        )

    @blp.if_match
    @blp.arguments(FollowUpPatchSchema)
    @blp.response(200, FollowUpSchema)
    def patch(self, data: dict[str, Any], task_id: int) -> Any:
        """Reassign, re-date or cancel (with a reason) an open task (nurse; If-Match required)"""
        principal = current_principal()
        task = follow_ups_service.editable_follow_up(db.session(), principal, task_id)
        require_if_match(task)
        return with_etag(follow_ups_service.update_follow_up(db.session(), principal, task, data))


@blp.route("/<int:task_id>/complete")
class FollowUpComplete(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, FollowUpSchema)
    def post(self, data: dict[str, Any], task_id: int) -> Any:
        """Mark a task done (the responsible organisation, for its own tasks; the nurse)"""
        return with_etag(
            follow_ups_service.complete_follow_up(
                db.session(), current_principal(), task_id, data.get("note")
            )
        )
