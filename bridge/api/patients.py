"""Patients and their records. Every operation is scoped by who may see the patient."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.care_requests import CareRequestSchema
from bridge.api.contract import Blueprint
from bridge.api.http import current_principal, etag_of, require_if_match, with_etag
from bridge.api.organisations import AsOfQuerySchema, OrganisationSchema
from bridge.api.schemas import (
    ANY_ERA,
    CopenhagenDateTime,
    Day,
    Id,
    PageArgsSchema,
    StrictSchema,
    nullable_as_stored,
    page_schema,
    text,
)
from bridge.domain.audit import AuditAction, AuditEvent
from bridge.domain.patients import cpr as cpr_disclosure
from bridge.domain.patients import records, registration, services
from bridge.domain.patients.models import (
    CareRequest,
    CareTeamMember,
    CareTeamRole,
    Consent,
    ConsentScope,
    Diagnosis,
    Enrollment,
    Patient,
    PatientStatus,
    Relative,
)
from bridge.domain.registry.models import OrganisationKind
from bridge.extensions import db

URL_PREFIX = "/patients"
blp = Blueprint(
    "patients",
    __name__,
    description="Patients, their relatives, diagnoses, enrollments, care team and consents",
)


@nullable_as_stored(Patient)
class PatientSchema(StrictSchema):
    id = Id(dump_only=True)
    cpr = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=11),
        metadata={"description": "DDMMYYSSSS or DDMMYY-SSSS; never returned in full"},
    )
    cpr_masked = fields.String(dump_only=True, metadata={"description": "DDMMYY-xxxx"})
    cpr_full = fields.String(
        dump_only=True,
        attribute="disclosed_cpr",
        metadata={
            "description": "only with ?include=cpr, for the patient's own municipality or GP "
            "practice; each disclosure is in the patient's access log"
        },
    )
    name = text(200, required=True)
    birth_date = Day(dump_only=True, window=ANY_ERA)
    sex = fields.String(dump_only=True)
    municipality_id = Id(required=True)
    gp_practice_id = Id(allow_none=True)
    status = fields.Enum(PatientStatus, by_value=True, load_default=PatientStatus.ACTIVE)
    care_request_reason = text(
        500,
        load_only=True,
        allow_none=True,
        metadata={
            "description": "why you ask to join the person's care, should they already be in "
            "Bridge as someone else's patient (then the answer is 202 with a care request)"
        },
    )
    created_at = CopenhagenDateTime(dump_only=True)
    updated_at = CopenhagenDateTime(dump_only=True)


class PatientPatchSchema(PatientSchema):
    class Meta:
        exclude = ("cpr", "care_request_reason", "cpr_full")

    status = fields.Enum(PatientStatus, by_value=True)


class PatientQuerySchema(PageArgsSchema):
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class IncludeCprSchema(StrictSchema):
    include = fields.String(
        load_default=None,
        validate=validate.OneOf(["cpr"]),
        metadata={"description": "cpr: add the full CPR (the patient's municipality or GP)"},
    )


class CprSearchSchema(StrictSchema):
    cpr = fields.String(required=True, validate=validate.Length(max=11))


@nullable_as_stored(Relative)
class RelativeSchema(StrictSchema):
    id = Id(dump_only=True)
    name = text(200, required=True)
    relation = text(100, required=True)
    contact = text(200, allow_none=True)
    may_receive_information = fields.Boolean(load_default=False)


@nullable_as_stored(Diagnosis)
class DiagnosisSchema(StrictSchema):
    id = Id(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(max=10))
    psychiatric = fields.Boolean(dump_only=True)
    description = text(300, allow_none=True)
    diagnosed_on = Day(allow_none=True, window=ANY_ERA)


@nullable_as_stored(Enrollment)
class EnrollmentSchema(StrictSchema):
    id = Id(dump_only=True)
    patient_id = Id(dump_only=True)
    nurse_id = Id(metadata={"description": "the bridge nurse; defaults to the caller"})
    start_date = Day()
    end_date = Day(dump_only=True)
    reason = text(500, required=True)
    end_reason = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)
    created_at = CopenhagenDateTime(dump_only=True)


class EnrollmentPatchSchema(StrictSchema):
    nurse_id = Id()
    end_date = Day()
    end_reason = text(500)


@nullable_as_stored(CareTeamMember)
class CareTeamMemberSchema(StrictSchema):
    id = Id(dump_only=True)
    organisation_id = Id(required=True)
    role = fields.Enum(CareTeamRole, by_value=True, required=True)
    contact_name = text(200, allow_none=True)
    contact_info = text(200, allow_none=True)


@nullable_as_stored(Consent)
class ConsentSchema(StrictSchema):
    id = Id(dump_only=True)
    recipient_organisation_id = Id(allow_none=True)
    recipient_kind = fields.Enum(OrganisationKind, by_value=True, allow_none=True)
    scope = fields.Enum(ConsentScope, by_value=True, required=True)
    given_at = CopenhagenDateTime()
    withdrawn_at = CopenhagenDateTime(dump_only=True)
    recorded_by_id = Id(dump_only=True)
    withdrawn_by_id = Id(dump_only=True)
    note = text(1000, allow_none=True)
    active = fields.Boolean(dump_only=True)


class ConsentWithdrawSchema(StrictSchema):
    withdrawn_at = CopenhagenDateTime()


@nullable_as_stored(AuditEvent)
class AccessLogEntrySchema(StrictSchema):
    id = Id()
    occurred_at = CopenhagenDateTime()
    staff_id = Id(allow_none=True)
    organisation_id = Id(allow_none=True)
    action = fields.String()
    resource_type = fields.String()
    resource_id = fields.String(allow_none=True)
    outcome = fields.String()
    basis = fields.String(
        allow_none=True,
        metadata={
            "description": "what gave the caller sight: caseload, treatment (a hospital stay), "
            "residence, listed, admin, care_request"
        },
    )
    shown = fields.List(
        fields.String(),
        attribute="shown_items",
        metadata={"description": "what the access read: '<action> <resource type> <id>' each"},
    )


class AccessLogArgsSchema(PageArgsSchema):
    include_listed = fields.Boolean(
        load_default=False,
        metadata={"description": "also the times the patient was a row of a working list"},
    )


PatientPageSchema = page_schema(PatientSchema, "PatientPage")
AccessLogPageSchema = page_schema(AccessLogEntrySchema, "AccessLogPage")


@blp.route("")
class Patients(MethodView):
    @blp.arguments(PatientQuerySchema, location="query")
    @blp.response(200, PatientPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the patients you may see (CPR masked)"""
        return services.list_patients(
            db.session(),
            current_principal(),
            cursor=args["cursor"],
            limit=args["limit"],
            name=args["name"],
        )

    @blp.arguments(PatientSchema)
    @blp.response(201, PatientSchema)
    @blp.alt_response(
        202,
        schema=CareRequestSchema,
        description="the person is already in Bridge as a patient you may not see: a request to "
        "join their care went to their nurse (rate-limited, in the patient's access log)",
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Register a patient (nurse, admin)"""
        result = registration.register_patient(db.session(), current_principal(), data)
        if isinstance(result, CareRequest):
            return jsonify(CareRequestSchema().dump(result)), 202
        return with_etag(result, 201)


@blp.route("/search")
class PatientSearch(MethodView):
    @blp.arguments(CprSearchSchema)
    @blp.response(200, PatientSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Find a patient by full CPR number (in the body, so it stays out of URLs and logs)"""
        return with_etag(
            services.find_patient_by_cpr(db.session(), current_principal(), data["cpr"])
        )


@blp.route("/<int:patient_id>")
class PatientById(MethodView):
    @blp.arguments(IncludeCprSchema, location="query")
    @blp.response(200, PatientSchema)
    def get(self, args: dict[str, Any], patient_id: int) -> Any:
        """Read a patient (?include=cpr: with the full CPR, for its municipality or GP)"""
        principal = current_principal()
        patient = services.read_patient(db.session(), principal, patient_id)
        if args["include"] != "cpr":
            return with_etag(patient)
        disclosed = cpr_disclosure.patient_with_cpr(db.session(), principal, patient)
        return disclosed, 200, {"ETag": etag_of(patient)}

    @blp.if_match
    @blp.arguments(PatientPatchSchema(partial=True))
    @blp.response(200, PatientSchema)
    def patch(self, data: dict[str, Any], patient_id: int) -> Any:
        """Change a patient (nurse, admin; If-Match required)"""
        principal = current_principal()
        patient = services.write_patient_scoped(
            db.session(), principal, patient_id, "patient", AuditAction.UPDATE
        )
        require_if_match(patient)
        return with_etag(services.update_patient(db.session(), principal, patient, data))


@blp.route("/<int:patient_id>/region")
class PatientRegion(MethodView):
    @blp.arguments(AsOfQuerySchema, location="query")
    @blp.response(200, OrganisationSchema)
    def get(self, args: dict[str, Any], patient_id: int) -> Any:
        """The region of the patient's municipality on a date"""
        return services.patient_region(db.session(), current_principal(), patient_id, args["on"])


@blp.route("/<int:patient_id>/relatives")
class Relatives(MethodView):
    @blp.response(200, RelativeSchema(many=True))
    def get(self, patient_id: int) -> Any:
        """List the patient's relatives"""
        return records.list_relatives(db.session(), current_principal(), patient_id)

    @blp.arguments(RelativeSchema)
    @blp.response(201, RelativeSchema)
    def post(self, data: dict[str, Any], patient_id: int) -> Any:
        """Add a relative (nurse, admin)"""
        return records.add_relative(db.session(), current_principal(), patient_id, data)


@blp.route("/<int:patient_id>/diagnoses")
class Diagnoses(MethodView):
    @blp.response(200, DiagnosisSchema(many=True))
    def get(self, patient_id: int) -> Any:
        """List the patient's diagnoses"""
        return records.list_diagnoses(db.session(), current_principal(), patient_id)

    @blp.arguments(DiagnosisSchema)
    @blp.response(201, DiagnosisSchema)
    def post(self, data: dict[str, Any], patient_id: int) -> Any:
        """Add an ICD-10 diagnosis (nurse, hospital, admin)"""
        return records.add_diagnosis(db.session(), current_principal(), patient_id, data)


@blp.route("/<int:patient_id>/care-team")
class CareTeam(MethodView):
    @blp.response(200, CareTeamMemberSchema(many=True))
    def get(self, patient_id: int) -> Any:
        """List the patient's care team"""
        return records.list_care_team(db.session(), current_principal(), patient_id)

    @blp.arguments(CareTeamMemberSchema)
    @blp.response(201, CareTeamMemberSchema)
    def post(self, data: dict[str, Any], patient_id: int) -> Any:
        """Add an organisation to the care team (nurse, admin)"""
        return records.add_care_team_member(db.session(), current_principal(), patient_id, data)


@blp.route("/<int:patient_id>/enrollments")
class Enrollments(MethodView):
    @blp.response(200, EnrollmentSchema(many=True))
    def get(self, patient_id: int) -> Any:
        """List the patient's bridge-nurse courses"""
        return records.list_enrollments(db.session(), current_principal(), patient_id)

    @blp.arguments(EnrollmentSchema)
    @blp.response(201, EnrollmentSchema)
    def post(self, data: dict[str, Any], patient_id: int) -> Any:
        """Enrol the patient with a bridge nurse (nurse, admin)"""
        enrollment = records.enroll_patient(db.session(), current_principal(), patient_id, data)
        return with_etag(enrollment, 201)


@blp.route("/<int:patient_id>/enrollments/<int:enrollment_id>")
class EnrollmentById(MethodView):
    @blp.response(200, EnrollmentSchema)
    def get(self, patient_id: int, enrollment_id: int) -> Any:
        """Read one course"""
        return with_etag(
            records.get_enrollment(db.session(), current_principal(), patient_id, enrollment_id)
        )

    @blp.if_match
    @blp.arguments(EnrollmentPatchSchema)
    @blp.response(200, EnrollmentSchema)
    def patch(self, data: dict[str, Any], patient_id: int, enrollment_id: int) -> Any:
        """End a course or hand it to another nurse (If-Match required)"""
        principal = current_principal()
        enrollment = records.get_enrollment(db.session(), principal, patient_id, enrollment_id)
        require_if_match(enrollment)
        return with_etag(records.update_enrollment(db.session(), principal, enrollment, data))


@blp.route("/<int:patient_id>/consents")
class Consents(MethodView):
    @blp.response(200, ConsentSchema(many=True))
    def get(self, patient_id: int) -> Any:
        """List the patient's consents, withdrawn ones included"""
        return records.list_consents(db.session(), current_principal(), patient_id)

    @blp.arguments(ConsentSchema)
    @blp.response(201, ConsentSchema)
    def post(self, data: dict[str, Any], patient_id: int) -> Any:
        """Record a consent (nurse, admin)"""
        return records.give_consent(db.session(), current_principal(), patient_id, data)


@blp.route("/<int:patient_id>/consents/<int:consent_id>/withdraw")
class ConsentWithdraw(MethodView):
    @blp.arguments(ConsentWithdrawSchema)
    @blp.response(200, ConsentSchema)
    def post(self, data: dict[str, Any], patient_id: int, consent_id: int) -> Any:
        """Record that the patient withdrew a consent (nurse, admin)"""
        return records.withdraw_consent(
            db.session(), current_principal(), patient_id, consent_id, data.get("withdrawn_at")
        )


@blp.route("/<int:patient_id>/access-log")
class AccessLog(MethodView):
    @blp.arguments(AccessLogArgsSchema, location="query")
    @blp.response(200, AccessLogPageSchema)
    def get(self, args: dict[str, Any], patient_id: int) -> Any:
        """Who read or changed the patient's data (admin, the patient's nurse)"""
        return services.access_log(
            db.session(),
            current_principal(),
            patient_id,
            cursor=args["cursor"],
            limit=args["limit"],
            include_listed=args["include_listed"],
        )
