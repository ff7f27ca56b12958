"""Network meetings: planning, holding, minutes in versions, and their distribution."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal, require_if_match, with_etag
from bridge.api.schemas import (
    CopenhagenDateTime,
    Day,
    Id,
    PageArgsSchema,
    StrictSchema,
    id_links,
    nullable_as_stored,
    page_schema,
    text,
)
from bridge.config import current_settings
from bridge.documents.minutes_pdf import pdf_response
from bridge.domain.meetings import distribution_status, recipients, scheduling
from bridge.domain.meetings import minutes as minutes_service
from bridge.domain.meetings.minutes_document import minutes_document
from bridge.domain.meetings.models import (
    ActionItem,
    ActionItemStatus,
    Distribution,
    MeetingParticipant,
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    ParticipantKind,
    RequesterKind,
)
from bridge.extensions import db

URL_PREFIX = "/meetings"
blp = Blueprint(
    "meetings",
    __name__,
    description="Network meetings, their minutes and the distribution of the minutes",
)

MAX_PARTICIPANTS = 50
MAX_ACTION_ITEMS = 100


@nullable_as_stored(MeetingParticipant)
class ParticipantSchema(StrictSchema):
    id = Id(dump_only=True)
    kind = fields.Enum(ParticipantKind, by_value=True, required=True)
    organisation_id = Id(allow_none=True)
    relative_id = Id(allow_none=True)
    person_name = text(200, allow_none=True)
    role = text(100, allow_none=True)
    treating_health_care = fields.Boolean(
        load_default=False,
        metadata={
            "description": "a municipality taking part as treating health-care staff (home "
            "nursing) receives the minutes without consent"
        },
    )
    attended = fields.Boolean(dump_only=True, allow_none=True)


class RequestSchema(StrictSchema):
    kind = fields.Enum(RequesterKind, by_value=True, required=True)
    organisation_id = Id(allow_none=True)
    relative_id = Id(allow_none=True)
    person = text(200, allow_none=True)
    requested_at = CopenhagenDateTime(metadata={"description": "defaults to now"})
    at_discharge = fields.Boolean(
        load_default=False,
        metadata={"description": "requested at discharge: to be held within N working days"},
    )


@nullable_as_stored(NetworkMeeting)
class MeetingSchema(StrictSchema):
    id = Id(dump_only=True)
    patient_id = Id(required=True)
    organiser_id = Id(dump_only=True)
    status = fields.Enum(MeetingStatus, by_value=True, dump_only=True)
    requested_by = fields.Nested(RequestSchema, load_only=True)
    requested_by_kind = fields.String(dump_only=True)
    requested_by_organisation_id = Id(dump_only=True)
    requested_by_relative_id = Id(dump_only=True)
    requested_by_person = fields.String(dump_only=True)
    requested_at = CopenhagenDateTime(dump_only=True)
    requested_at_discharge = fields.Boolean(dump_only=True)
    hold_by = CopenhagenDateTime(dump_only=True)
    hold_by_on = fields.Date(
        dump_only=True,
        allow_none=True,
        metadata={"description": "the day hold_by ends on (hold_by is the instant after it)"},
    )
    scheduled_start = CopenhagenDateTime(allow_none=True)
    scheduled_end = CopenhagenDateTime(allow_none=True)
    place = text(300, allow_none=True)
    video_link = fields.Url(allow_none=True, validate=validate.Length(max=500))
    agenda = text(5000, allow_none=True)
    cancel_reason = fields.String(dump_only=True)
    held_at = CopenhagenDateTime(dump_only=True)
    participants = fields.List(
        fields.Nested(ParticipantSchema), validate=validate.Length(max=MAX_PARTICIPANTS)
    )
    created_at = CopenhagenDateTime(dump_only=True)
    updated_at = CopenhagenDateTime(dump_only=True)


class MeetingPatchSchema(StrictSchema):
    scheduled_start = CopenhagenDateTime()
    scheduled_end = CopenhagenDateTime()
    place = text(300, allow_none=True)
    video_link = fields.Url(allow_none=True, validate=validate.Length(max=500))
    agenda = text(5000, allow_none=True)
    participants = fields.List(
        fields.Nested(ParticipantSchema), validate=validate.Length(max=MAX_PARTICIPANTS)
    )


class MeetingQuerySchema(PageArgsSchema):
    patient = Id(load_default=None)
    status = fields.Enum(MeetingStatus, by_value=True, load_default=None)


class PlanSchema(StrictSchema):
    scheduled_start = CopenhagenDateTime(required=True)
    scheduled_end = CopenhagenDateTime(required=True)
    place = text(300, allow_none=True)
    video_link = fields.Url(allow_none=True, validate=validate.Length(max=500))


class AttendanceRowSchema(StrictSchema):
    participant_id = Id(required=True)
    attended = fields.Boolean(required=True)


class AttendanceSchema(StrictSchema):
    attendance = fields.List(
        fields.Nested(AttendanceRowSchema),
        load_default=list,
        validate=validate.Length(max=MAX_PARTICIPANTS),
    )


class CancelSchema(StrictSchema):
    reason = text(500, required=True)


@nullable_as_stored(ActionItem)
class ActionItemSchema(StrictSchema):
    id = Id(dump_only=True)
    description = text(1000, required=True)
    responsible_organisation_id = Id(allow_none=True)
    person = text(200, allow_none=True)
    due_date = Day(allow_none=True)
    status = fields.Enum(ActionItemStatus, by_value=True, dump_only=True)
    done_by_id = Id(dump_only=True)
    done_at = CopenhagenDateTime(dump_only=True)


@nullable_as_stored(MinutesVersion)
class MinutesSchema(StrictSchema):
    id = Id(dump_only=True)
    meeting_id = Id(dump_only=True)
    version_no = fields.Integer(dump_only=True)
    status = fields.Enum(MinutesStatus, by_value=True, dump_only=True)
    summary = text(20000)
    decisions = text(20000)
    amendment_reason = fields.String(dump_only=True)
    action_items = fields.List(
        fields.Nested(ActionItemSchema), validate=validate.Length(max=MAX_ACTION_ITEMS)
    )
    created_by_id = Id(dump_only=True)
    created_at = CopenhagenDateTime(dump_only=True)
    updated_at = CopenhagenDateTime(dump_only=True)
    finalised_at = CopenhagenDateTime(dump_only=True)
    finalised_by_id = Id(dump_only=True)


class MinutesPutSchema(MinutesSchema):
    summary = fields.String(required=True, validate=validate.Length(max=20000))
    decisions = fields.String(required=True, validate=validate.Length(max=20000))
    action_items = fields.List(
        fields.Nested(ActionItemSchema),
        required=True,
        validate=validate.Length(max=MAX_ACTION_ITEMS),
    )


class MinutesPatchSchema(MinutesSchema):
    pass


class AmendmentSchema(MinutesSchema):
    reason = text(1000, required=True)


@nullable_as_stored(Distribution)
class DistributionSchema(StrictSchema):
    id = Id()
    minutes_version_id = Id()
    recipient_kind = fields.String()
    recipient_organisation_id = Id(allow_none=True)
    recipient_relative_id = Id(allow_none=True)
    recipient_staff_id = Id(allow_none=True)
    recipient_role = fields.String()
    channel = fields.String()
    status = fields.String()
    legal_basis = fields.String(allow_none=True)
    blocked_reason = fields.String(allow_none=True)
    created_at = CopenhagenDateTime()
    sent_at = CopenhagenDateTime(allow_none=True)
    delivered_at = CopenhagenDateTime(allow_none=True)
    acknowledged_at = CopenhagenDateTime(allow_none=True)
    handed_over_at = CopenhagenDateTime(allow_none=True)
    handed_over_to = fields.String(allow_none=True)
    handover_method = fields.String(allow_none=True)
    handed_over_by_id = Id(allow_none=True)


MeetingPageSchema = page_schema(MeetingSchema, "MeetingPage")


def _check_if_match_when_sent(obj: Any) -> None:
    # Finalising does not demand If-Match (it changes no content), but honours one when sent.
    if request.headers.get("If-Match"):
        require_if_match(obj)


@blp.route("")
class Meetings(MethodView):
    @blp.arguments(MeetingQuerySchema, location="query")
    @blp.response(200, MeetingPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List meetings of the patients you may see (?patient=, ?status=)"""
        return scheduling.list_meetings(
            db.session(),
            current_principal(),
            cursor=args["cursor"],
            limit=args["limit"],
            patient_id=args["patient"],
            status=args["status"],
        )

    @blp.arguments(MeetingSchema)
    @blp.response(201, MeetingSchema)
    @blp.doc(
        **id_links(
            201,
            "meeting_id",
            "GET /api/v1/meetings/{meeting_id}",
            "PATCH /api/v1/meetings/{meeting_id}",
            "POST /api/v1/meetings/{meeting_id}/plan",
            "POST /api/v1/meetings/{meeting_id}/hold",
            "POST /api/v1/meetings/{meeting_id}/cancel",
            "POST /api/v1/meetings/{meeting_id}/minutes",
        )
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Plan a meeting, or record a request for one (nurse, admin)"""
        days = current_settings().BRIDGE_MEETING_HOLD_WORKING_DAYS
        meeting = scheduling.create_meeting(
            db.session(), current_principal(), data, hold_within_working_days=int(days)
        )
        return with_etag(meeting, 201)


@blp.route("/<int:meeting_id>")
class MeetingById(MethodView):
    @blp.response(200, MeetingSchema)
    def get(self, meeting_id: int) -> Any:
        """Read a meeting"""
        return with_etag(scheduling.get_meeting(db.session(), current_principal(), meeting_id))

    @blp.if_match
    @blp.arguments(MeetingPatchSchema)
    @blp.response(200, MeetingSchema)
    def patch(self, data: dict[str, Any], meeting_id: int) -> Any:
        """Change a meeting not yet held (If-Match required)"""
        principal = current_principal()
        meeting = scheduling.get_meeting_for_update(db.session(), principal, meeting_id)
        require_if_match(meeting)
        return with_etag(scheduling.update_meeting(db.session(), principal, meeting, data))


@blp.route("/<int:meeting_id>/plan")
class MeetingPlan(MethodView):
    @blp.arguments(PlanSchema)
    @blp.response(200, MeetingSchema)
    def post(self, data: dict[str, Any], meeting_id: int) -> Any:
        """Plan a requested meeting"""
        return with_etag(
            scheduling.plan_meeting(db.session(), current_principal(), meeting_id, data)
        )


@blp.route("/<int:meeting_id>/hold")
class MeetingHold(MethodView):
    @blp.arguments(AttendanceSchema)
    @blp.response(200, MeetingSchema)
    def post(self, data: dict[str, Any], meeting_id: int) -> Any:
        """Record that a planned meeting was held, optionally with attendance"""
        meeting = scheduling.hold_meeting(
            db.session(), current_principal(), meeting_id, data["attendance"]
        )
        return with_etag(meeting)


@blp.route("/<int:meeting_id>/cancel")
class MeetingCancel(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, MeetingSchema)
    def post(self, data: dict[str, Any], meeting_id: int) -> Any:
        """Cancel a requested or planned meeting, with a reason"""
        meeting = scheduling.cancel_meeting(
            db.session(), current_principal(), meeting_id, data["reason"]
        )
        return with_etag(meeting)


@blp.route("/<int:meeting_id>/attendance")
class MeetingAttendance(MethodView):
    @blp.arguments(AttendanceSchema)
    @blp.response(200, MeetingSchema)
    def put(self, data: dict[str, Any], meeting_id: int) -> Any:
        """Record who attended a held meeting"""
        meeting = scheduling.record_attendance(
            db.session(), current_principal(), meeting_id, data["attendance"]
        )
        return with_etag(meeting)


@blp.route("/<int:meeting_id>/minutes")
class Minutes(MethodView):
    @blp.response(200, MinutesSchema(many=True))
    def get(self, meeting_id: int) -> Any:
        """List every version of the meeting's minutes"""
        return minutes_service.list_minutes(db.session(), current_principal(), meeting_id)

    @blp.arguments(MinutesSchema)
    @blp.response(201, MinutesSchema)
    def post(self, data: dict[str, Any], meeting_id: int) -> Any:
        """Start the minutes of a held meeting (draft version 1)"""
        cmd = minutes_service.NewMinutes(
            summary=data.get("summary", ""),
            decisions=data.get("decisions", ""),
            action_items=tuple(
                minutes_service.ActionItemInput(**r) for r in data.get("action_items", [])
            ),
        )
        version = minutes_service.create_minutes(db.session(), current_principal(), meeting_id, cmd)
        return with_etag(version, 201)


@blp.route("/<int:meeting_id>/minutes/amendments")
class MinutesAmendments(MethodView):
    @blp.arguments(AmendmentSchema)
    @blp.response(201, MinutesSchema)
    def post(self, data: dict[str, Any], meeting_id: int) -> Any:
        """Amend final minutes: the next version as a draft, with a reason"""
        version = minutes_service.amend_minutes(db.session(), current_principal(), meeting_id, data)
        return with_etag(version, 201)


@blp.route("/<int:meeting_id>/minutes/<int:version_no>")
class MinutesByVersion(MethodView):
    @blp.response(200, MinutesSchema)
    def get(self, meeting_id: int, version_no: int) -> Any:
        """Read one version of the minutes (nurse, admin; a recipient organisation reads the
        final versions distributed to it)"""
        return with_etag(
            recipients.readable_minutes(db.session(), current_principal(), meeting_id, version_no)
        )

    @blp.if_match
    @blp.arguments(MinutesPutSchema)
    @blp.response(200, MinutesSchema)
    def put(self, data: dict[str, Any], meeting_id: int, version_no: int) -> Any:
        """Replace a draft (If-Match required)"""
        return with_etag(_edit(meeting_id, version_no, data))

    @blp.if_match
    @blp.arguments(MinutesPatchSchema(partial=True))
    @blp.response(200, MinutesSchema)
    def patch(self, data: dict[str, Any], meeting_id: int, version_no: int) -> Any:
        """Change fields of a draft (If-Match required)"""
        return with_etag(_edit(meeting_id, version_no, data))


def _edit(meeting_id: int, version_no: int, data: dict) -> Any:
    principal = current_principal()
    version = minutes_service.get_minutes_for_update(
        db.session(), principal, meeting_id, version_no
    )
    require_if_match(version)
    return minutes_service.update_minutes(db.session(), principal, version, data)


@blp.route("/<int:meeting_id>/minutes/<int:version_no>/finalise")
class MinutesFinalise(MethodView):
    @blp.response(200, MinutesSchema)
    def post(self, meeting_id: int, version_no: int) -> Any:
        """Finalise a draft: lock it and distribute it to every recipient"""
        principal = current_principal()
        version = minutes_service.get_minutes_for_update(
            db.session(), principal, meeting_id, version_no
        )
        _check_if_match_when_sent(version)
        return with_etag(minutes_service.finalise_minutes(db.session(), principal, version).version)


@blp.route("/<int:meeting_id>/distributions")
class Distributions(MethodView):
    @blp.response(200, DistributionSchema(many=True))
    def get(self, meeting_id: int) -> Any:
        """Who received which version of the minutes, and how far delivery got"""
        return distribution_status.list_distributions(db.session(), current_principal(), meeting_id)


@blp.route("/<int:meeting_id>/minutes/<int:version_no>/pdf")
class MinutesPdf(MethodView):
    @blp.response(200, content_type="application/pdf", description="The minutes as PDF/A")
    def get(self, meeting_id: int, version_no: int) -> Any:
        """The minutes as a Danish PDF document (the GP's MedCom attachment, CPR masked)"""
        doc = minutes_document(db.session(), current_principal(), meeting_id, version_no)
        return pdf_response(doc)
