"""The recipient organisations' end: their own action items, and meeting requests to the nurse.

The minutes distributed to them are read at the link they were sent
(``/meetings/{id}/minutes/{version}``), which answers them through the same domain check.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal
from bridge.api.schemas import (
    CopenhagenDateTime,
    Day,
    Id,
    PageArgsSchema,
    StrictSchema,
    nullable_as_stored,
    page_schema,
    text,
)
from bridge.config import current_settings
from bridge.domain.meetings import recipients
from bridge.domain.meetings.models import (
    ActionItemStatus,
    MeetingStatus,
    MeetingUrgency,
    NetworkMeeting,
)
from bridge.extensions import db

URL_PREFIX = ""
blp = Blueprint(
    "recipients",
    __name__,
    description="What GP practices, municipalities and hospital departments do with what they "
    "are sent: their action items, and requests for a network meeting",
)


class OwnActionItemSchema(StrictSchema):
    id = Id(metadata={"description": "for PATCH /action-items/{id}"})
    description = fields.String()
    person = fields.String(allow_none=True)
    due_date = Day(allow_none=True)
    status = fields.String()
    done_at = CopenhagenDateTime(allow_none=True)
    responsible_organisation_id = Id()
    meeting_id = Id()
    version_no = fields.Integer()
    minutes_version_id = Id()
    meeting_start = CopenhagenDateTime(allow_none=True)
    patient_id = Id()
    patient_name = fields.String()
    patient_cpr_masked = fields.String()
    link = fields.String(metadata={"description": "the minutes the item comes from"})


class OwnActionItemQuerySchema(PageArgsSchema):
    status = fields.Enum(ActionItemStatus, by_value=True, load_default=None)


class AttendeeSchema(StrictSchema):
    organisation_id = Id(required=True)
    person_name = text(200, allow_none=True)
    role = text(100, allow_none=True)


class MeetingRequestSchema(StrictSchema):
    id = Id(dump_only=True)
    patient_id = Id(required=True)
    reason = text(5000, required=True)
    urgency = fields.Enum(MeetingUrgency, by_value=True, load_default=MeetingUrgency.NORMAL)
    person = text(200, allow_none=True, metadata={"description": "who asks, at your end"})
    attendees = fields.List(
        fields.Nested(AttendeeSchema),
        load_default=list,
        validate=validate.Length(max=recipients.MAX_ATTENDEES),
        metadata={"description": "organisations that should take part (you are added)"},
    )
    status = fields.Enum(MeetingStatus, by_value=True, dump_only=True)
    requested_at = CopenhagenDateTime(dump_only=True)
    hold_by = CopenhagenDateTime(
        dump_only=True, metadata={"description": "the meeting is due by then"}
    )
    scheduled_start = CopenhagenDateTime(dump_only=True)


@nullable_as_stored(NetworkMeeting)
class MeetingRequestOutSchema(MeetingRequestSchema):
    reason = fields.String(attribute="request_reason", dump_only=True)
    # The request's own fields, shown as stored rather than as the request schema reads them.
    urgency = fields.String(attribute="request_urgency", dump_only=True)  # type: ignore[assignment]
    person = fields.String(attribute="requested_by_person", dump_only=True)
    attendees = fields.Method("_attendees", dump_only=True)  # type: ignore[assignment]

    def _attendees(self, meeting: NetworkMeeting) -> list[dict[str, Any]]:
        return [
            {"organisation_id": pt.organisation_id, "person_name": pt.person_name, "role": pt.role}
            for pt in meeting.participants
            if pt.organisation_id is not None
        ]


@blp.route("/action-items")
class OwnActionItems(MethodView):
    @blp.arguments(OwnActionItemQuerySchema, location="query")
    @blp.response(200, page_schema(OwnActionItemSchema, "OwnActionItemPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Your organisation's action items from minutes that reached it (?status=open)"""
        return recipients.list_own_action_items(
            db.session(),
            current_principal(),
            cursor=args["cursor"],
            limit=args["limit"],
            status=args["status"],
        )


@blp.route("/meeting-requests")
class MeetingRequests(MethodView):
    @blp.response(200, MeetingRequestOutSchema(many=True))
    def get(self) -> Any:
        """The meeting requests your organisation made, newest first"""
        return recipients.list_own_requests(db.session(), current_principal())

    @blp.arguments(MeetingRequestSchema)
    @blp.response(201, MeetingRequestOutSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Ask the patient's bridge nurse for a network meeting (municipality, GP, hospital)"""
        days = current_settings().BRIDGE_MEETING_HOLD_WORKING_DAYS
        return recipients.request_meeting(
            db.session(), current_principal(), data, hold_within_working_days=int(days)
        )
