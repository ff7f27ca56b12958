"""Organisations: regions, municipalities, hospitals and departments, practices, facilities."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api.contract import Blueprint
from bridge.api.http import current_principal, require_if_match, with_etag
from bridge.api.schemas import (
    ANY_ERA,
    Day,
    Id,
    PageArgsSchema,
    StrictSchema,
    nullable_as_stored,
    page_schema,
    text,
)
from bridge.domain.registry import services
from bridge.domain.registry.models import Organisation, OrganisationKind, Role, Specialty
from bridge.extensions import db

URL_PREFIX = "/organisations"
blp = Blueprint("organisations", __name__, description="Organisations taking part in care")


@nullable_as_stored(Organisation)
class OrganisationSchema(StrictSchema):
    id = Id(dump_only=True)
    kind = fields.Enum(OrganisationKind, by_value=True, required=True)
    name = text(200, required=True)
    parent_id = Id(allow_none=True)
    specialty = fields.Enum(Specialty, by_value=True, allow_none=True)
    sor_code = fields.String(allow_none=True, validate=validate.Length(max=18))
    municipality_code = fields.String(allow_none=True, validate=validate.Length(max=4))
    region_code = fields.String(
        allow_none=True,
        validate=[
            validate.Length(max=5),
            validate.Regexp(r"^DK-8[1-9]$", error="must be like DK-84"),
        ],
    )
    ydernummer = fields.String(allow_none=True, validate=validate.Length(max=7))
    gln = fields.String(allow_none=True, validate=validate.Length(max=13))
    valid_from = Day(allow_none=True, window=ANY_ERA)
    valid_to = Day(allow_none=True, window=ANY_ERA)
    successor_id = Id(allow_none=True)


class OrganisationPatchSchema(OrganisationSchema):
    class Meta:
        exclude = ("kind",)

    name = text(200)


class OrganisationQuerySchema(PageArgsSchema):
    kind = fields.Enum(OrganisationKind, by_value=True, load_default=None)
    valid_on = Day(load_default=None, window=ANY_ERA)


class AsOfQuerySchema(StrictSchema):
    on = Day(
        load_default=None, window=ANY_ERA, metadata={"description": "the date asked about (today)"}
    )


class OrganisationListSchema(StrictSchema):
    items = fields.List(fields.Nested(OrganisationSchema))


OrganisationPageSchema = page_schema(OrganisationSchema, "OrganisationPage")


@blp.route("")
class Organisations(MethodView):
    @blp.arguments(OrganisationQuerySchema, location="query")
    @blp.response(200, OrganisationPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List organisations"""
        return services.list_organisations(
            db.session(),
            kind=args["kind"],
            on=args["valid_on"],
            cursor=args["cursor"],
            limit=args["limit"],
        )

    @blp.arguments(OrganisationSchema)
    @blp.response(201, OrganisationSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an organisation (admin)"""
        current_principal().require(Role.ADMIN)
        return with_etag(services.create_organisation(db.session(), data), 201)


@blp.route("/<int:org_id>")
class OrganisationById(MethodView):
    @blp.response(200, OrganisationSchema)
    def get(self, org_id: int) -> Any:
        """Read an organisation"""
        return with_etag(services.get_organisation(db.session(), org_id))

    @blp.if_match
    @blp.arguments(OrganisationPatchSchema(partial=True))
    @blp.response(200, OrganisationSchema)
    def patch(self, data: dict[str, Any], org_id: int) -> Any:
        """Change an organisation (admin; If-Match required)"""
        current_principal().require(Role.ADMIN)
        org = services.get_organisation(db.session(), org_id)
        require_if_match(org)
        return with_etag(services.update_organisation(db.session(), org, data))


@blp.route("/<int:org_id>/region")
class OrganisationRegion(MethodView):
    @blp.arguments(AsOfQuerySchema, location="query")
    @blp.response(200, OrganisationSchema)
    def get(self, args: dict[str, Any], org_id: int) -> Any:
        """The region an organisation belongs to on a date"""
        return services.organisation_group_on(
            db.session(), org_id, OrganisationKind.REGION, args["on"]
        )


@blp.route("/<int:org_id>/health-council")
class OrganisationHealthCouncil(MethodView):
    @blp.arguments(AsOfQuerySchema, location="query")
    @blp.response(200, OrganisationSchema)
    def get(self, args: dict[str, Any], org_id: int) -> Any:
        """The health council a municipality belongs to on a date"""
        return services.organisation_group_on(
            db.session(), org_id, OrganisationKind.HEALTH_COUNCIL, args["on"]
        )


@blp.route("/<int:org_id>/members")
class OrganisationMembers(MethodView):
    @blp.arguments(AsOfQuerySchema, location="query")
    @blp.response(200, OrganisationListSchema)
    def get(self, args: dict[str, Any], org_id: int) -> Any:
        """The members of a region or health council on a date"""
        return {"items": services.organisation_members_on(db.session(), org_id, args["on"])}
