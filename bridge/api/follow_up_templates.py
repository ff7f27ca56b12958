"""Follow-up templates: the per-region agreements a discharge plan is made from (admin)."""

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
from bridge.domain.care import templates
from bridge.domain.care.models import FollowUpCondition, FollowUpTemplate, ResponsibleKind
from bridge.domain.registry.models import Role, Specialty
from bridge.extensions import db

URL_PREFIX = "/follow-up-templates"
blp = Blueprint(
    "follow_up_templates", __name__, description="Templates of the follow-up after discharge"
)


@nullable_as_stored(FollowUpTemplate)
class FollowUpTemplateSchema(StrictSchema):
    id = Id(dump_only=True)
    region_id = Id(required=True)
    applies_to = fields.Enum(Specialty, by_value=True, required=True)
    condition = fields.Enum(FollowUpCondition, by_value=True, required=True)
    title = text(200, required=True)
    responsible_kind = fields.Enum(ResponsibleKind, by_value=True, required=True)
    deadline_working_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=60))
    deadline_hours = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=720))
    active = fields.Boolean(load_default=True)
    created_at = CopenhagenDateTime(dump_only=True)


class FollowUpTemplatePatchSchema(FollowUpTemplateSchema):
    class Meta:
        exclude = ("region_id",)

    title = text(200)
    active = fields.Boolean()


class TemplateQuerySchema(PageArgsSchema):
    region_id = Id(load_default=None)


FollowUpTemplatePageSchema = page_schema(FollowUpTemplateSchema, "FollowUpTemplatePage")


@blp.route("")
class FollowUpTemplates(MethodView):
    @blp.arguments(TemplateQuerySchema, location="query")
    @blp.response(200, FollowUpTemplatePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List follow-up templates (admin, nurse)"""
        return templates.list_templates(
            db.session(),
            current_principal(),
            region_id=args["region_id"],
            cursor=args["cursor"],
            limit=args["limit"],
        )

    @blp.arguments(FollowUpTemplateSchema)
    @blp.response(201, FollowUpTemplateSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a template for a region (admin)"""
        return with_etag(templates.create_template(db.session(), current_principal(), data), 201)


@blp.route("/<int:template_id>")
class FollowUpTemplateById(MethodView):
    @blp.response(200, FollowUpTemplateSchema)
    def get(self, template_id: int) -> Any:
        """Read a template (admin, nurse)"""
        return with_etag(templates.get_template(db.session(), current_principal(), template_id))

    @blp.if_match
    @blp.arguments(FollowUpTemplatePatchSchema(partial=True))
    @blp.response(200, FollowUpTemplateSchema)
    def patch(self, data: dict[str, Any], template_id: int) -> Any:
        """Change a template; later discharges only (admin; If-Match required)"""
        principal = current_principal()
        principal.require(Role.ADMIN)
        template = templates.get_template(db.session(), principal, template_id)
        require_if_match(template)
        return with_etag(templates.update_template(db.session(), principal, template, data))
