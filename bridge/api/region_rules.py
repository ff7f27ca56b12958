"""A region's own rules from a date: extra closed days and gap-rule thresholds (admin)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal
from bridge.api.schemas import CopenhagenDateTime, Day, Id, StrictSchema
from bridge.domain.calendar import CLOSABLE_DAYS
from bridge.domain.registry import region_rules
from bridge.extensions import db

URL_PREFIX = "/regions"
blp = Blueprint("region_rules", __name__, description="Per-region rules, effective from a date")

_DAYS = validate.Range(min=1, max=60)


class RegionRulesSchema(StrictSchema):
    id = Id(dump_only=True)
    region_id = Id(dump_only=True)
    valid_from = Day(required=True)
    closed_days = fields.List(
        fields.String(validate=validate.OneOf(sorted(CLOSABLE_DAYS))),
        load_default=list,
        validate=validate.Length(max=len(CLOSABLE_DAYS)),
        attribute="closed_day_names",
        data_key="closed_days",
        metadata={"description": "extra closed days: " + ", ".join(sorted(CLOSABLE_DAYS))},
    )
    gp_ack_working_days = fields.Integer(allow_none=True, validate=_DAYS)
    meeting_request_working_days = fields.Integer(allow_none=True, validate=_DAYS)
    discharge_follow_up_working_days = fields.Integer(allow_none=True, validate=_DAYS)
    created_at = CopenhagenDateTime(dump_only=True)


class RegionRulesListSchema(StrictSchema):
    items = fields.List(fields.Nested(RegionRulesSchema))


@blp.route("/<int:region_id>/rules")
class RegionRulesCollection(MethodView):
    @blp.response(200, RegionRulesListSchema)
    def get(self, region_id: int) -> Any:
        """A region's rules, oldest first"""
        current_principal()
        return {"items": region_rules.list_region_rules(db.session(), region_id)}

    @blp.arguments(RegionRulesSchema)
    @blp.response(201, RegionRulesSchema)
    def post(self, data: dict[str, Any], region_id: int) -> Any:
        """Give a region rules from a date (admin)"""
        data["closed_days"] = data.pop("closed_day_names", [])
        return region_rules.add_region_rules(db.session(), current_principal(), region_id, data)
