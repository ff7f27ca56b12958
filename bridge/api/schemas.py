"""Fields and schemas every resource shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import inspect as sa_inspect

from bridge.domain.calendar import ANY_ERA, CARE_ERA, COPENHAGEN
from bridge.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT


def copenhagen_iso(value: datetime | None) -> str | None:
    """How every timestamp is written out: ISO 8601 in Copenhagen time, with its offset."""
    if value is None:
        return None
    return value.astimezone(COPENHAGEN).isoformat()


def _bounded(kwargs: dict[str, Any], window: tuple[date, date]) -> dict[str, Any]:
    """The field's keyword arguments with the window stated in its documentation."""
    if kwargs.get("dump_only"):
        return kwargs
    metadata = dict(kwargs.pop("metadata", None) or {})
    stated = f"between {window[0].isoformat()} and {window[1].isoformat()}"
    description = metadata.get("description")
    metadata["description"] = f"{description}; {stated}" if description else stated
    kwargs["metadata"] = metadata
    return kwargs


def _outside(window: tuple[date, date]) -> ValidationError:
    return ValidationError(f"must be between {window[0].isoformat()} and {window[1].isoformat()}")


__all__ = ["ANY_ERA", "CARE_ERA"]  # the windows, re-exported for the schemas that name them


class CopenhagenDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset: shown in Copenhagen time, stored in UTC, never naive.

    A timestamp without an offset is refused (422), never guessed: the caller knows which zone
    they mean. Only instants within ``window`` (UTC) are accepted."""

    def __init__(self, *, window: tuple[date, date] = CARE_ERA, **kwargs: Any) -> None:
        self.window = window
        super().__init__(format="iso", default_timezone=None, **_bounded(kwargs, window))

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return copenhagen_iso(value)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        try:
            parsed = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            raise ValidationError(
                "must be an ISO 8601 timestamp with an offset, e.g. 2026-03-01T09:30:00+01:00"
            ) from exc
        earliest = datetime.combine(self.window[0], time.min, tzinfo=UTC)
        latest = datetime.combine(self.window[1], time.max, tzinfo=UTC)
        try:
            inside = earliest <= parsed <= latest
        except OverflowError:  # year 1 or 9999 shifted by its offset
            inside = False
        if not inside:
            raise _outside(self.window)
        return parsed


class Day(fields.Date):
    """An ISO 8601 calendar date within ``window``."""

    def __init__(self, *, window: tuple[date, date] = CARE_ERA, **kwargs: Any) -> None:
        self.window = window
        super().__init__(**_bounded(kwargs, window))

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not self.window[0] <= parsed <= self.window[1]:
            raise _outside(self.window)
        return parsed


class StrictSchema(Schema):
    """Unknown fields are an error (marshmallow's default, stated so nobody loosens it)."""

    class Meta:
        unknown = "raise"
        ordered = True


def text(
    max_length: int, *, required: bool = False, allow_none: bool = False, **kw: Any
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


# Most tables number their rows with PostgreSQL's integer; flags and notifications (and the audit
# log) with bigint. A larger number names no row, and is refused here rather than sent to the
# database: its parameters are typed like the column, so the comparison would fail, not miss.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1


class Id(fields.Integer):
    """A row id: a positive integer within its column (``big``: a bigint column)."""

    def __init__(self, *, big: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_BIG_ID if big else MAX_ID))
        super().__init__(**kwargs)


SchemaT = TypeVar("SchemaT", bound=type[Schema])


def nullable_as_stored(model: type) -> Callable[[SchemaT], SchemaT]:
    """Class decorator: a field that shows a nullable column of ``model`` may be null.

    The spec then says of every such field what the database allows, and a column made nullable
    later is documented as such without anyone remembering to. Fields that are not columns
    (computed values) declare ``allow_none`` themselves."""

    def apply(schema: SchemaT) -> SchemaT:
        columns: Any = sa_inspect(model).columns
        for name, field in schema._declared_fields.items():
            column = columns.get(field.attribute or name)
            if column is not None and column.nullable:
                field.allow_none = True
        return schema

    return apply


def id_links(status: int, parameter: str, *targets: str) -> dict[str, Any]:
    """OpenAPI links from a created resource's ``id`` to the operations that take it as
    ``parameter``; for ``@blp.doc(**id_links(...))``. Clients (and the property-based run) can
    then follow a create to what reads and changes the new resource.

    ``targets`` are "METHOD /api/v1/path/{parameter}/..." strings."""
    links: dict[str, Any] = {}
    for target in targets:
        method, path = target.split(" ", 1)
        pointer = path.replace("~", "~0").replace("/", "~1")
        after = path.split("{" + parameter + "}", 1)[1].strip("/").replace("/", "_")
        links[f"{method.lower()}_{after}" if after else method.lower()] = {
            "operationRef": f"#/paths/{pointer}/{method.lower()}",
            "parameters": {parameter: "$response.body#/id"},
        }
    return {"responses": {str(status): {"links": links}}}
