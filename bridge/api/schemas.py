"""Fields and schemas every resource shares."""

from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, ValidationError, fields, validate

from bridge.domain.calendar import COPENHAGEN
from bridge.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT


def copenhagen_iso(value: datetime | None) -> str | None:
    """How every timestamp is written out: ISO 8601 in Copenhagen time, with its offset."""
    if value is None:
        return None
    return value.astimezone(COPENHAGEN).isoformat()


class CopenhagenDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset: shown in Copenhagen time, stored in UTC, never naive."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        return copenhagen_iso(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            parsed = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            raise ValidationError(
                "must be an ISO 8601 timestamp with an offset, e.g. 2026-03-01T09:30:00+01:00"
            ) from exc
        return parsed


class StrictSchema(Schema):
    """Unknown fields are an error (marshmallow's default, stated so nobody loosens it)."""

    class Meta:
        unknown = "raise"
        ordered = True


def text(
    max_length: int, *, required: bool = False, allow_none: bool = False, **kw
) -> fields.String:
    """A bounded string field: every free-text input has a maximum length."""
    return fields.String(
        required=required,
        allow_none=allow_none,
        validate=validate.Length(min=1 if required else 0, max=max_length),
        **kw,
    )


class PageArgsSchema(StrictSchema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"page size, 1 to {MAX_LIMIT}"},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=500),
        metadata={"description": "opaque cursor from the previous page's next_cursor"},
    )


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The {items, next_cursor} envelope of a list of ``item``."""
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
        },
    )


MAX_ID = 2**63 - 1


class Id(fields.Integer):
    """A row id: a positive 64-bit integer (larger numbers are refused, not sent to the DB)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)
