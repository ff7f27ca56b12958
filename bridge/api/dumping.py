"""Response schemas dumped by a plan made once per schema, with marshmallow's own result.

marshmallow serialises each field of each object through ``Field.serialize`` → ``get_value`` →
``utils.get_value`` → ``_serialize``: about 7 µs a field. A page of fifty patients is some
eight hundred fields, and on the benchmark machine its dumping took more CPU than the three SQL
statements behind it. The plan keeps what marshmallow would decide per call (which fields, their
keys and attributes, their defaults, the nested schemas) and does per object only the lookups and
conversions. Fields whose conversion is trivial (strings, integers, nested schemas, lists) are
converted inline; every other field's own ``_serialize`` is called, so custom fields keep their
behaviour. A schema with dump hooks or its own accessor is left to marshmallow.

The test suite runs with ``VERIFY`` on: every dump is compared with marshmallow's, byte for
byte as JSON, so the whole API suite checks that the plan changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow import utils as mm_utils
from marshmallow.decorators import POST_DUMP, PRE_DUMP

# Set by the test suite: each planned dump is checked against marshmallow's.
VERIFY = False

Dump = Callable[..., Any]
ValueSerializer = Callable[[Any, str, Any], Any]


def _string(value: Any, attr: str, obj: Any) -> Any:
    if value is None or type(value) is str:
        return value
    return mm_utils.ensure_text_type(value)


def _integer(value: Any, attr: str, obj: Any) -> Any:
    if value is None or type(value) is int:
        return value
    return int(value)


def _value_serializer(field: fields.Field) -> ValueSerializer:
    """``field._serialize`` or an equivalent that skips marshmallow's generic steps."""
    if type(field) is fields.String:
        return _string
    if (
        isinstance(field, fields.Integer)
        and type(field)._serialize is fields.Number._serialize
        and type(field)._format_num is fields.Number._format_num
        and not field.as_string
    ):
        return _integer
    if type(field) is fields.Nested and isinstance(field, fields.Nested):
        schema = field.schema
        nested = planned_dump(schema)
        many = schema.many or field.many

        def _nested(value: Any, attr: str, obj: Any) -> Any:
            return None if value is None else nested(value, many=many)

        return _nested
    if type(field) is fields.List and isinstance(field, fields.List):
        inner = _value_serializer(field.inner)

        def _list(value: Any, attr: str, obj: Any) -> Any:
            return None if value is None else [inner(each, attr, obj) for each in value]

        return _list
    return field._serialize


def _plannable(schema: Schema) -> bool:
    cls = type(schema)
    return (
        not schema._hooks[PRE_DUMP]
        and not schema._hooks[POST_DUMP]
        and cls.get_attribute is Schema.get_attribute
        and cls._serialize is Schema._serialize
        and schema.dict_class is dict
    )


def planned_dump(schema: Schema) -> Dump:
    """A function dumping like ``schema.dump`` (same result), from a plan made now."""
    if not _plannable(schema):
        return schema.dump
    # (key in the output, the field's name, the attribute to read, its default when absent,
    # conversion, the field when the value is not read from one attribute: Method, Function,
    # dotted paths)
    plan: list[tuple[str, str, str, Any, ValueSerializer, fields.Field | None]] = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = field.attribute if field.attribute is not None else name
        reads_attribute = field._CHECK_ATTRIBUTE and "." not in attribute
        plan.append(
            (
                key,
                name,
                attribute,
                field.dump_default,
                _value_serializer(field),
                None if reads_attribute else field,
            )
        )
    accessor = schema.get_attribute

    def one(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        indexable = hasattr(obj, "__getitem__")
        # An entity's loaded columns are in its __dict__, under their attribute names: reading
        # them there skips the ORM's descriptor (a tenth of a list page's CPU went to getattr).
        # Anything else (properties, attributes not loaded, slotted objects) is read as before.
        stored = None if indexable else getattr(obj, "__dict__", None)
        for key, name, attribute, default, serialize, whole in plan:
            if whole is not None:
                value = whole.serialize(name, obj, accessor=accessor)
                if value is not missing:
                    out[key] = value
                continue
            if indexable:
                value = mm_utils._get_value_for_key(obj, attribute, missing)
            elif stored is not None and attribute in stored:
                value = stored[attribute]
            else:
                value = getattr(obj, attribute, missing)
            if value is missing:
                value = default() if callable(default) else default
                if value is missing:
                    continue
            out[key] = serialize(value, name, obj)
        return out

    def dump(obj: Any, *, many: bool | None = None) -> Any:
        many = schema.many if many is None else bool(many)
        if many:
            result: Any = None if obj is None else [one(each) for each in obj]
        else:
            result = one(obj)
        if VERIFY:
            expected = Schema.dump(schema, obj, many=many)
            if json.dumps(result, default=str) != json.dumps(expected, default=str):
                raise AssertionError(
                    f"planned dump of {type(schema).__name__} differs from marshmallow's:\n"
                    f"{result!r}\n{expected!r}"
                )
        return result

    return dump


def plan_dumps(schema: Schema) -> Schema:
    """``schema`` with its ``dump`` replaced by the planned one (the instance, not the class:
    the documentation and loading keep using the schema as it is)."""
    schema.dump = planned_dump(schema)  # type: ignore[method-assign]
    return schema
