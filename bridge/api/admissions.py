"""Hospital stays: admission, discharge, and the statutory plans made for a discharge."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal, with_etag
from bridge.api.schemas import (
    CopenhagenDateTime,
    Day,
    Id,
    StrictSchema,
    id_links,
    nullable_as_stored,
    text,
)
from bridge.domain.care import admissions as admissions_service
from bridge.domain.care import statutory_plans
from bridge.domain.care.models import (
    SUMMARY_MAX,
    Admission,
    Destination,
    PlanEffort,
    StatutoryPlan,
    StatutoryPlanKind,
)
from bridge.domain.registry.models import Specialty
from bridge.extensions import db

URL_PREFIX = "/admissions"
blp = Blueprint(
    "admissions", __name__, description="Admissions, discharges and statutory discharge plans"
)

MAX_PARTICIPANTS = 50


@nullable_as_stored(Admission)
class AdmissionSchema(StrictSchema):
    id = Id(dump_only=True)
    patient_id = Id(metadata={"description": "a patient you may already see; otherwise give `cpr`"})
    cpr = fields.String(
        load_only=True,
        validate=validate.Length(max=11),
        metadata={
            "description": "full CPR number of the person admitted, for a department that may "
            "not yet see them (instead of patient_id)"
        },
    )
    department_id = Id(
        required=True, metadata={"description": "a hospital department (psychiatric or somatic)"}
    )
    specialty = fields.Enum(Specialty, by_value=True, dump_only=True)
    acute = fields.Boolean(required=True)
    admitted_at = CopenhagenDateTime(required=True)
    discharged_at = CopenhagenDateTime(dump_only=True)
    destination = fields.Enum(Destination, by_value=True, dump_only=True)
    discharge_summary = fields.String(dump_only=True)
    rehabilitation_plan_issued = fields.Boolean(dump_only=True)
    network_meeting_requested = fields.Boolean(dump_only=True)
    open = fields.Boolean(dump_only=True)
    dual_admission = fields.Boolean(
        dump_only=True,
        metadata={"description": "overlaps a stay of the other specialty (dobbeltindlagt)"},
    )
    readmission = fields.Boolean(
        dump_only=True, metadata={"description": "began within 30 days of a discharge"}
    )
    registered_by_id = Id(dump_only=True)
    discharged_by_id = Id(dump_only=True)
    created_at = CopenhagenDateTime(dump_only=True)


class DischargeSchema(StrictSchema):
    discharged_at = CopenhagenDateTime(required=True)
    destination = fields.Enum(Destination, by_value=True, required=True)
    discharge_summary = text(SUMMARY_MAX, allow_none=True)
    rehabilitation_plan_issued = fields.Boolean(
        load_default=False, metadata={"description": "a genoptræningsplan was issued"}
    )
    network_meeting_requested = fields.Boolean(load_default=False)


@nullable_as_stored(PlanEffort)
class PlanEffortSchema(StrictSchema):
    id = Id(dump_only=True)
    description = text(500, required=True)
    responsible_organisation_id = Id(required=True)
    responsible_person = text(200, allow_none=True)


@nullable_as_stored(StatutoryPlan)
class StatutoryPlanSchema(StrictSchema):
    id = Id(dump_only=True)
    admission_id = Id(dump_only=True)
    kind = fields.Enum(StatutoryPlanKind, by_value=True, required=True)
    agreed_on = Day(metadata={"description": "defaults to today (Copenhagen)"})
    patient_took_part = fields.Boolean(required=True)
    goals = text(2000, allow_none=True)
    next_review_date = Day(allow_none=True)
    participant_ids = fields.List(
        Id(), load_default=list, validate=validate.Length(max=MAX_PARTICIPANTS)
    )
    efforts = fields.List(
        fields.Nested(PlanEffortSchema),
        load_default=list,
        validate=validate.Length(max=MAX_PARTICIPANTS),
    )
    created_by_id = Id(dump_only=True)
    created_at = CopenhagenDateTime(dump_only=True)


@blp.route("")
class Admissions(MethodView):
    @blp.arguments(AdmissionSchema)
    @blp.response(201, AdmissionSchema)
    @blp.doc(
        **id_links(
            201,
            "admission_id",
            "GET /api/v1/admissions/{admission_id}",
            "POST /api/v1/admissions/{admission_id}/discharge",
            "POST /api/v1/admissions/{admission_id}/statutory-plans",
        )
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Register an admission (hospital staff for their own department, nurse, admin)"""
        return with_etag(
            admissions_service.register_admission(db.session(), current_principal(), data), 201
        )


@blp.route("/<int:admission_id>")
class AdmissionById(MethodView):
    @blp.response(200, AdmissionSchema)
    def get(self, admission_id: int) -> Any:
        """Read a stay"""
        return with_etag(
            admissions_service.get_admission(db.session(), current_principal(), admission_id)
        )


@blp.route("/<int:admission_id>/discharge")
class Discharge(MethodView):
    @blp.arguments(DischargeSchema)
    @blp.response(200, AdmissionSchema)
    def post(self, data: dict[str, Any], admission_id: int) -> Any:
        """Register the discharge; an enrolled patient gets a follow-up plan"""
        return with_etag(
            admissions_service.discharge(db.session(), current_principal(), admission_id, data)
        )


@blp.route("/<int:admission_id>/statutory-plans")
class StatutoryPlans(MethodView):
    @blp.response(200, StatutoryPlanSchema(many=True))
    def get(self, admission_id: int) -> Any:
        """List the stay's statutory plans"""
        return statutory_plans.list_statutory_plans(db.session(), current_principal(), admission_id)

    @blp.arguments(StatutoryPlanSchema)
    @blp.response(201, StatutoryPlanSchema)
    def post(self, data: dict[str, Any], admission_id: int) -> Any:
        """Record an udskrivningsaftale, koordinationsplan or KIP (psychiatric stays)"""
        return statutory_plans.add_statutory_plan(
            db.session(), current_principal(), admission_id, data
        )


@blp.route("/<int:admission_id>/statutory-plans/<int:plan_id>")
class StatutoryPlanById(MethodView):
    @blp.response(200, StatutoryPlanSchema)
    def get(self, admission_id: int, plan_id: int) -> Any:
        """Read one statutory plan"""
        return statutory_plans.get_statutory_plan(
            db.session(), current_principal(), admission_id, plan_id
        )
