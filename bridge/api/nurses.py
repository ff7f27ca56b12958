"""Bridge nurses: shared employment between a region and municipalities, and capacity."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal, require_if_match, with_etag
from bridge.api.organisations import AsOfQuerySchema, OrganisationSchema
from bridge.api.schemas import Id, PageArgsSchema, StrictSchema, nullable_as_stored, page_schema
from bridge.domain.registry import services
from bridge.domain.registry.models import BridgeNurse, NurseFinancing, Role
from bridge.extensions import db

URL_PREFIX = "/nurses"
blp = Blueprint("nurses", __name__, description="Bridge nurses and their financing")


@nullable_as_stored(NurseFinancing)
class FinancingSchema(StrictSchema):
    municipality_id = Id(required=True)
    share = fields.Integer(required=True, validate=validate.Range(min=1, max=100))


@nullable_as_stored(BridgeNurse)
class NurseSchema(StrictSchema):
    staff_id = Id(required=True)
    name = fields.Function(lambda n: n.staff.name, dump_only=True)
    region_id = Id(required=True)
    region_share = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    financing = fields.List(
        fields.Nested(FinancingSchema), required=True, validate=validate.Length(min=1, max=98)
    )
    caseload_capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=500))
    active = fields.Boolean(load_default=True)


class NursePatchSchema(NurseSchema):
    class Meta:
        exclude = ("staff_id",)

    active = fields.Boolean()


NursePageSchema = page_schema(NurseSchema, "NursePage")


@blp.route("")
class Nurses(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, NursePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List bridge nurses"""
        return services.list_nurses(db.session(), cursor=args["cursor"], limit=args["limit"])

    @blp.arguments(NurseSchema)
    @blp.response(201, NurseSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Record a bridge nurse's shared employment (admin)"""
        current_principal().require(Role.ADMIN)
        return with_etag(services.create_nurse(db.session(), data), 201)


@blp.route("/<int:staff_id>")
class NurseById(MethodView):
    @blp.response(200, NurseSchema)
    def get(self, staff_id: int) -> Any:
        """Read a bridge nurse"""
        return with_etag(services.get_nurse(db.session(), staff_id))

    @blp.if_match
    @blp.arguments(NursePatchSchema(partial=True))
    @blp.response(200, NurseSchema)
    def patch(self, data: dict[str, Any], staff_id: int) -> Any:
        """Change financing, capacity or active flag (admin; If-Match required)"""
        current_principal().require(Role.ADMIN)
        nurse = services.get_nurse(db.session(), staff_id)
        require_if_match(nurse)
        return with_etag(services.update_nurse(db.session(), nurse, data))


@blp.route("/<int:staff_id>/employer")
class NurseEmployer(MethodView):
    @blp.arguments(AsOfQuerySchema, location="query")
    @blp.response(200, OrganisationSchema)
    def get(self, args: dict[str, Any], staff_id: int) -> Any:
        """The region that employs the nurse on a date (a merged region's successor)"""
        return services.nurse_employer_on(db.session(), staff_id, args["on"])
