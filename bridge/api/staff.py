"""Staff members and their API tokens (admin only)."""

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
from bridge.domain.registry import services
from bridge.domain.registry.models import ApiToken, Role, Staff
from bridge.extensions import db

URL_PREFIX = "/staff"
blp = Blueprint("staff", __name__, description="Staff members and their API tokens (admin)")


@nullable_as_stored(Staff)
class StaffSchema(StrictSchema):
    id = Id(dump_only=True)
    organisation_id = Id(required=True)
    name = text(200, required=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    roles = fields.List(
        fields.String(validate=validate.OneOf([r.value for r in Role])),
        required=True,
        validate=validate.Length(min=1, max=5),
    )
    active = fields.Boolean(load_default=True)
    created_at = CopenhagenDateTime(dump_only=True)


class StaffPatchSchema(StaffSchema):
    active = fields.Boolean()


class StaffQuerySchema(PageArgsSchema):
    organisation_id = Id(load_default=None)


@nullable_as_stored(ApiToken)
class TokenSchema(StrictSchema):
    id = Id(dump_only=True)
    label = text(200, allow_none=True)
    prefix = fields.String(dump_only=True)
    created_at = CopenhagenDateTime(dump_only=True)
    expires_at = CopenhagenDateTime(allow_none=True)
    revoked_at = CopenhagenDateTime(dump_only=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(
        dump_only=True, metadata={"description": "the secret; shown once, store it now"}
    )


StaffPageSchema = page_schema(StaffSchema, "StaffPage")


def _staff_for_admin(staff_id: int) -> Any:
    current_principal().require(Role.ADMIN)
    return services.get_staff(db.session(), staff_id)


@blp.route("")
class StaffCollection(MethodView):
    @blp.arguments(StaffQuerySchema, location="query")
    @blp.response(200, StaffPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List staff members (admin)"""
        current_principal().require(Role.ADMIN)
        return services.list_staff(
            db.session(),
            organisation_id=args["organisation_id"],
            cursor=args["cursor"],
            limit=args["limit"],
        )

    @blp.arguments(StaffSchema)
    @blp.response(201, StaffSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a staff member (admin)"""
        current_principal().require(Role.ADMIN)
        return with_etag(services.create_staff(db.session(), data), 201)


@blp.route("/<int:staff_id>")
class StaffById(MethodView):
    @blp.response(200, StaffSchema)
    def get(self, staff_id: int) -> Any:
        """Read a staff member (admin)"""
        return with_etag(_staff_for_admin(staff_id))

    @blp.if_match
    @blp.arguments(StaffPatchSchema(partial=True))
    @blp.response(200, StaffSchema)
    def patch(self, data: dict[str, Any], staff_id: int) -> Any:
        """Change a staff member (admin; If-Match required)"""
        staff = _staff_for_admin(staff_id)
        require_if_match(staff)
        return with_etag(services.update_staff(db.session(), staff, data))


@blp.route("/<int:staff_id>/tokens")
class StaffTokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self, staff_id: int) -> Any:
        """List a staff member's tokens, without their secrets (admin)"""
        return services.list_tokens(db.session(), _staff_for_admin(staff_id))

    @blp.arguments(TokenSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data: dict[str, Any], staff_id: int) -> Any:
        """Issue a token; the secret is in this response only (admin)"""
        issued = services.issue_token(
            db.session(),
            _staff_for_admin(staff_id),
            label=data.get("label"),
            expires_at=data.get("expires_at"),
        )
        token = issued.token
        return {
            "id": token.id,
            "label": token.label,
            "prefix": token.prefix,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "revoked_at": token.revoked_at,
            "token": issued.secret,
        }


@blp.route("/<int:staff_id>/tokens/<int:token_id>")
class StaffTokenById(MethodView):
    @blp.response(200, TokenSchema)
    def delete(self, staff_id: int, token_id: int) -> Any:
        """Revoke a token (admin)"""
        return services.revoke_token(db.session(), _staff_for_admin(staff_id), token_id)
