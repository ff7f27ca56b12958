"""Every string and list a client can send has an upper bound (so no field takes megabytes)."""

import pytest
from marshmallow import Schema, fields, validate


def _bounded(field: fields.Field) -> bool:
    validators = field.validators
    if any(isinstance(v, validate.Length) and v.max is not None for v in validators):
        return True
    if any(isinstance(v, validate.OneOf) for v in validators):
        return True
    return isinstance(field, fields.Email | fields.Url)


def _unbounded_inputs(schema: Schema, prefix: str = "") -> list[str]:
    out = []
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        path = f"{prefix}{name}"
        if isinstance(field, fields.Nested):
            out += _unbounded_inputs(field.schema, path + ".")
        elif isinstance(field, fields.List):
            if not _bounded(field):
                out.append(path)
            inner = field.inner
            if isinstance(inner, fields.Nested):
                out += _unbounded_inputs(inner.schema, path + "[].")
            elif isinstance(inner, fields.String) and not _bounded(inner):
                out.append(path + "[]")
        elif isinstance(field, fields.Dict) or (
            isinstance(field, fields.String)
            and not isinstance(field, fields.Enum)
            and not _bounded(field)
        ):
            out.append(path)
    return out


def _argument_schemas(app) -> dict[str, Schema]:
    """Every schema a view loads client input with (smorest records them on the view)."""
    found = {}
    for endpoint, view in app.view_functions.items():
        cls = getattr(view, "view_class", None)
        if cls is None:
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            func = getattr(cls, method, None)
            apidoc = getattr(func, "_apidoc", {}) if func else {}
            for param in apidoc.get("arguments", {}).get("parameters", []):
                schema = param["schema"]
                schema = schema() if isinstance(schema, type) else schema
                found[f"{endpoint}.{method}:{type(schema).__name__}"] = schema
    return found


def test_every_string_and_list_input_is_bounded(app):
    schemas = _argument_schemas(app)
    assert len(schemas) > 40
    problems = []
    for name, schema in schemas.items():
        problems += [f"{name}.{p}" for p in _unbounded_inputs(schema)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"name": ' + "[" * 5_000 + "]" * 5_000 + "}",
        '{"name": ' + '{"a": ' * 3_000 + "1" + "}" * 3_000 + "}",
        "[" * 100_000,  # not even well formed
    ],
    ids=["array", "in-a-field", "objects", "unclosed"],
)
def test_json_nested_absurdly_deep_is_a_bad_request(make_actor, body):
    nurse = make_actor("nurse")
    r = nurse.client.post(
        "/api/v1/patients",
        data=body,
        headers=nurse.headers({"Content-Type": "application/json"}),
    )
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.mimetype == "application/problem+json"
    assert "nested" in r.json["detail"]


def test_brackets_inside_strings_and_ordinary_nesting_are_not_depth(make_actor):
    nurse = make_actor("nurse")
    body = {"name": "[" * 5_000, "x": [[[[[[[[[[{"a": [1]}]]]]]]]]]]}
    r = nurse.post("/api/v1/patients", json=body)
    # Refused for its fields (no cpr, unknown x), not for its shape.
    assert r.status_code == 422, r.json
    assert "nested" not in r.json["detail"]
