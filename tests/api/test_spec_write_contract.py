"""The spec states the write contract: ETags on every guarded write, Idempotency-Key on every
POST, problem+json answers per operation, descriptions and the payloads integrators read."""

import pytest

from bridge.api.errors import PROBLEM_JSON

METHODS = ("get", "post", "put", "patch", "delete")
# Writes that do not take If-Match today: requiring it would refuse the clients that call them
# now (a behaviour change beyond this step). Each is named so a new one cannot slip in.
WITHOUT_IF_MATCH = {
    ("put", "/api/v1/meetings/{meeting_id}/attendance"),
    ("patch", "/api/v1/action-items/{item_id}"),
    ("patch", "/api/v1/organisations/{org_id}/endpoints/{endpoint_id}"),
}


@pytest.fixture
def spec(app):
    return app.extensions["bridge_api"].spec.to_dict()


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method in METHODS:
            if method in operations:
                yield method, path, operations[method]


def _header_names(operation):
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}


def _response(spec, operation, code):
    response = operation["responses"].get(str(code)) or operation["responses"].get(code)
    if response and "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_every_put_and_patch_documents_if_match_412_and_428(spec):
    guarded = 0
    for method, path, operation in _operations(spec):
        if method not in ("put", "patch") or (method, path) in WITHOUT_IF_MATCH:
            continue
        guarded += 1
        assert "If-Match" in _header_names(operation), (method, path)
        for code in (412, 428):
            response = _response(spec, operation, code)
            assert response is not None, (method, path, code)
            assert PROBLEM_JSON in response["content"], (method, path, code)
    assert guarded >= 11


def test_the_writes_without_if_match_are_the_named_ones(spec):
    unguarded = {
        (method, path)
        for method, path, operation in _operations(spec)
        if method in ("put", "patch") and "If-Match" not in _header_names(operation)
    }
    assert unguarded == WITHOUT_IF_MATCH


def test_every_post_documents_idempotency_key_and_its_replay(spec):
    posts = [(path, op) for method, path, op in _operations(spec) if method == "post"]
    creating = [(path, op) for path, op in posts if "201" in op["responses"]]
    assert len(creating) >= 20
    for path, operation in posts:
        assert "Idempotency-Key" in _header_names(operation), path
        assert "Idempotent-Replayed" in operation["description"], path


def test_errors_are_documented_per_operation_as_problem_json(spec):
    for method, path, operation in _operations(spec):
        expected = {401, 403, 429}
        if "{" in path:
            expected.add(404)
        if method != "get":
            expected |= {400, 409, 413, 422}
        for code in expected:
            response = _response(spec, operation, code)
            assert response is not None, (method, path, code)
            content = response["content"][PROBLEM_JSON]
            assert content["schema"]["$ref"].endswith("/Problem"), (method, path, code)


def test_most_operations_carry_a_description(spec):
    operations = list(_operations(spec))
    described = [op for _m, _p, op in operations if op.get("description", "").strip()]
    assert len(described) >= 0.8 * len(operations)
    assert all(op.get("summary") for _m, _p, op in operations)


def test_action_items_of_a_meeting_summary_are_typed(spec):
    summary = spec["components"]["schemas"]["MeetingSummary"]
    items = summary["properties"]["action_items"]
    assert items["type"] == "array"
    item = spec["components"]["schemas"][items["items"]["$ref"].rsplit("/", 1)[1]]
    assert {"id", "description", "due_date", "status", "assigned_to_you"} <= set(item["properties"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/municipalities/{code}/meeting-summaries"),
        ("get", "/api/v1/inbox"),
        ("post", "/api/v1/fhir/acknowledgements"),
        ("post", "/api/v1/meeting-summaries/{summary_id}/ack"),
        ("post", "/api/v1/distributions/{distribution_id}/ack"),
        ("patch", "/api/v1/action-items/{item_id}"),
    ],
)
def test_integrator_payloads_carry_examples(spec, method, path):
    operation = spec["paths"][path][method]
    ok = next(r for code, r in operation["responses"].items() if str(code).startswith("2"))
    assert ok["content"]["application/json"].get("example"), (method, path)


def test_a_write_marked_if_match_that_checks_nothing_fails_loudly(app):
    from flask import Flask

    from bridge.api.contract import Blueprint

    blp = Blueprint("probe", __name__)

    @blp.route("/probe", methods=["PATCH"])
    @blp.if_match
    def probe():
        return "unguarded"

    probe_app = Flask(__name__)
    probe_app.testing = True
    probe_app.register_blueprint(blp)
    with pytest.raises(RuntimeError, match="checked no ETag"):
        probe_app.test_client().patch("/probe")
