"""The overview for a region or health council per month: counts only, no patient data."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal
from bridge.api.schemas import CopenhagenDateTime, Id, StrictSchema
from bridge.domain import overview as domain
from bridge.domain import overview_rollup
from bridge.domain.base import utcnow
from bridge.domain.registry.effective import copenhagen_today
from bridge.extensions import db

URL_PREFIX = "/overview"
blp = Blueprint("overview", __name__, description="Whether the bridge holds: monthly counts")

_MONTH = [
    validate.Length(max=7),
    validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="must be a month like 2027-01"),
]


class OverviewQuerySchema(StrictSchema):
    from_ = fields.String(
        data_key="from", load_default=None, validate=_MONTH, metadata={"example": "2027-01"}
    )
    to = fields.String(load_default=None, validate=_MONTH, metadata={"example": "2027-12"})


class MonthSchema(StrictSchema):
    month = fields.String()
    minutes_final = fields.Integer()
    minutes_acknowledged_in_time = fields.Integer()
    share_acknowledged_in_time = fields.Float(allow_none=True)
    median_hours_to_acknowledgement = fields.Float(allow_none=True)
    follow_ups_due = fields.Integer()
    follow_ups_done_in_time = fields.Integer()
    share_follow_ups_in_time = fields.Float(allow_none=True)
    discharges = fields.Integer()
    discharges_with_nurse_contact = fields.Integer()
    share_discharges_with_contact = fields.Float(allow_none=True)
    flags_opened_by_rule = fields.Dict(keys=fields.String(), values=fields.Integer())


class OverviewSchema(StrictSchema):
    organisation_id = Id(attribute="organisation.id")
    organisation_name = fields.String(attribute="organisation.name")
    kind = fields.String(attribute="organisation.kind.value")
    months = fields.List(fields.Nested(MonthSchema))
    open_flags_by_rule = fields.Dict(keys=fields.String(), values=fields.Integer())
    as_of = CopenhagenDateTime(
        allow_none=True,
        metadata={"description": "when the figures were counted (the scheduled rollup); null: now"},
    )


def load_overview(org_id: int, args: dict) -> domain.Overview:
    """Parse the period (default: the last 12 months) and compute the overview."""
    today = copenhagen_today(utcnow())
    last = domain.parse_month(args["to"], "to") if args.get("to") else today.replace(day=1)
    if args.get("from_"):
        first = domain.parse_month(args["from_"], "from")
    else:
        first = domain.months_before(last, 11)
    return overview_rollup.read_overview(
        db.session(), current_principal(), org_id, first, last, today
    )


@blp.route("/<int:org_id>")
class OverviewById(MethodView):
    @blp.arguments(OverviewQuerySchema, location="query")
    @blp.response(200, OverviewSchema)
    def get(self, args: dict[str, Any], org_id: int) -> Any:
        """Monthly figures for a region or health council (admin, or its own staff)"""
        return load_overview(org_id, args)


@blp.route("/<int:org_id>/csv")
class OverviewCsv(MethodView):
    @blp.arguments(OverviewQuerySchema, location="query")
    @blp.response(200, content_type="text/csv", description="the same figures as CSV")
    def get(self, args: dict[str, Any], org_id: int) -> Any:
        """Monthly figures as CSV"""
        result = load_overview(org_id, args)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(domain.csv_rows(result))
        return Response(
            buffer.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="overview-{org_id}.csv"'},
        )
