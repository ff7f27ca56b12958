"""The nurse's worklist of gaps, somatic screenings, and the record of job runs."""

from __future__ import annotations

from typing import Any

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
    nullable_as_stored,
    page_schema,
    text,
)
from bridge.domain.gaps import services
from bridge.domain.gaps.models import Flag, FlagStatus, SomaticScreening
from bridge.domain.jobruns import JobRun
from bridge.extensions import db

URL_PREFIX = ""
blp = Blueprint("flags", __name__, description="Gaps found by the scheduled scan")


@nullable_as_stored(Flag)
class FlagSchema(StrictSchema):
    id = Id(big=True)
    rule = fields.String()
    patient_id = Id(allow_none=True)
    nurse_id = Id(allow_none=True)
    subject_type = fields.String()
    subject_id = Id(big=True)
    severity = fields.Integer(metadata={"description": "3 high, 2 medium, 1 low"})
    message_da = fields.String()
    message_en = fields.String()
    status = fields.Enum(FlagStatus, by_value=True)
    first_detected_at = CopenhagenDateTime()
    last_seen_at = CopenhagenDateTime()
    acknowledged_by_id = Id(allow_none=True)
    acknowledged_at = CopenhagenDateTime(allow_none=True)
    note = fields.String(allow_none=True)
    snoozed_until = CopenhagenDateTime(allow_none=True)
    resolved_at = CopenhagenDateTime(allow_none=True)
    resolution = fields.String(allow_none=True)


class FlagQuerySchema(PageArgsSchema):
    status = fields.Enum(FlagStatus, by_value=True, load_default=None)
    rule = fields.String(load_default=None, validate=validate.Length(max=60))
    patient = Id(load_default=None)
    nurse = Id(load_default=None)


class FlagActionSchema(StrictSchema):
    action = fields.String(
        required=True, validate=validate.OneOf(["acknowledge", "snooze", "resolve"])
    )
    note = text(2000, allow_none=True)
    until = CopenhagenDateTime(metadata={"description": "for snooze"})
    reason = text(500, metadata={"description": "for resolve"})


@nullable_as_stored(SomaticScreening)
class ScreeningSchema(StrictSchema):
    id = Id(dump_only=True)
    patient_id = Id(dump_only=True)
    screened_on = Day(required=True)
    note = text(1000, allow_none=True)
    recorded_by_id = Id(dump_only=True)


@nullable_as_stored(JobRun)
class JobRunSchema(StrictSchema):
    id = Id(big=True)
    job = fields.String()
    started_at = CopenhagenDateTime()
    finished_at = CopenhagenDateTime(allow_none=True)
    status = fields.String()
    summary = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


class JobRunQuerySchema(PageArgsSchema):
    job = fields.String(load_default=None, validate=validate.Length(max=60))


FlagPageSchema = page_schema(FlagSchema, "FlagPage")
JobRunPageSchema = page_schema(JobRunSchema, "JobRunPage")


@blp.route("/flags")
class Flags(MethodView):
    @blp.arguments(FlagQuerySchema, location="query")
    @blp.response(200, FlagPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The worklist: open gaps, most severe and oldest first"""
        return services.list_flags(
            db.session(),
            current_principal(),
            status=args["status"],
            rule=args["rule"],
            patient_id=args["patient"],
            nurse_id=args["nurse"],
            cursor=args["cursor"],
            limit=args["limit"],
        )


@blp.route("/flags/<bigid:flag_id>")
class FlagById(MethodView):
    @blp.response(200, FlagSchema)
    def get(self, flag_id: int) -> Any:
        """Read a flag"""
        return with_etag(services.get_flag(db.session(), current_principal(), flag_id))

    @blp.if_match
    @blp.arguments(FlagActionSchema)
    @blp.response(200, FlagSchema)
    def patch(self, data: dict[str, Any], flag_id: int) -> Any:
        """Acknowledge, snooze or resolve a flag (If-Match required)"""
        principal = current_principal()
        flag = services.get_flag(db.session(), principal, flag_id)
        require_if_match(flag)
        return with_etag(services.act_on_flag(db.session(), principal, flag, data))


@blp.route("/patients/<int:patient_id>/somatic-screenings")
class Screenings(MethodView):
    @blp.arguments(ScreeningSchema)
    @blp.response(201, ScreeningSchema)
    def post(self, data: dict[str, Any], patient_id: int) -> Any:
        """Record a somatic screening"""
        return services.record_screening(
            db.session(), current_principal(), patient_id, data["screened_on"], data.get("note")
        )


@blp.route("/jobs/runs")
class JobRuns(MethodView):
    @blp.arguments(JobRunQuerySchema, location="query")
    @blp.response(200, JobRunPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Recorded runs of scheduled jobs, newest first (admin)"""
        return services.list_job_runs(
            db.session(),
            current_principal(),
            job=args["job"],
            cursor=args["cursor"],
            limit=args["limit"],
        )
