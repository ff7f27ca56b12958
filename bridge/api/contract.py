"""The write contract, enforced and documented by one mechanism.

Every route is declared on :class:`Blueprint`, which adds to each operation of the spec what the
request lifecycle (``bridge.api.http``) does for it: the problem+json answers it can give, the
``Idempotency-Key`` every POST honours, and, for a route marked ``@blp.if_match``, the ETag cycle
(``If-Match`` required, 412 when stale, 428 when missing). The spec is generated from the same
marks the code runs on, so it cannot promise a check a route does not make.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

import flask_smorest
from flask import current_app, g
from flask_smorest.utils import resolve_schema_instance

from bridge.api.dumping import plan_dumps

# The lifecycle accepts keys of 1 to 200 characters (bridge.api.http._idempotency_replay).
IDEMPOTENCY_KEY_MAX = 200

IF_MATCH_PARAMETER = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "the ETag of your last read of this resource (`*` matches any version)",
    "schema": {"type": "string", "minLength": 1},
}
IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "a key of your choosing that makes a retry safe: a repeat of this request with the same "
        "key and body (within 24 hours, per caller) is not carried out again but answered with "
        "the first response and `Idempotent-Replayed: true`; the same key with another body "
        "answers 422"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX},
}
ETAG_HEADER = {
    "description": "the version of the resource; send it back as If-Match to change it",
    "schema": {"type": "string"},
}
REPLAYED_HEADER = {
    "description": "`true` when this is the stored answer to an earlier request with the same "
    "Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}

_WRITES = {"post", "put", "patch", "delete"}
_IF_MATCH_TEXT = (
    "Concurrency: send `If-Match` with the ETag of your last read. Without it the answer is 428; "
    "if someone changed the resource since, 412 (read it again and reapply your change). The "
    "answer carries the new ETag."
)
_IDEMPOTENCY_TEXT = (
    "Retries: send an `Idempotency-Key`; a repeat with the same key and body answers the first "
    "response again (`Idempotent-Replayed: true`) instead of doing the work twice."
)
_NOT_FOUND_TEXT = "An id you may not see answers 404, exactly like one that does not exist."


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, documenting Bridge's write contract on every operation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_contract_doc)

    def add_url_rule(self, rule: str, *args: Any, **kwargs: Any) -> None:
        super().add_url_rule(rule, *args, **kwargs)
        # Whether the operations address one resource by id (and so can answer 404).
        for method, doc in self._docs[self._endpoints[-1]].items():
            if method != "parameters":
                doc["path_ids"] = "<" in rule

    def arguments(self, schema: Any, **kwargs: Any) -> Any:
        """flask-smorest's arguments, with one schema instance per operation: given a class,
        webargs would build a new schema on every request."""
        return super().arguments(resolve_schema_instance(schema), **kwargs)

    def response(self, status_code: int | str, schema: Any = None, **kwargs: Any) -> Any:
        """flask-smorest's response, dumping with a plan made once (bridge.api.dumping)."""
        if schema is not None:
            schema = plan_dumps(resolve_schema_instance(schema))
        return super().response(status_code, schema, **kwargs)

    @staticmethod
    def if_match(func: Callable[..., Any]) -> Callable[..., Any]:
        """Mark a write as guarded by the ETag cycle: the spec documents If-Match, 412 and 428,
        and the view must call ``require_if_match`` on what it changes (a view that forgets fails
        loudly instead of writing unguarded)."""

        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.if_match_checked = False
            result = current_app.ensure_sync(func)(*args, **kwargs)
            if not g.pop("if_match_checked", False):
                raise RuntimeError(f"{func.__qualname__} is marked if_match but checked no ETag")
            return result

        wrapper._apidoc = deepcopy(getattr(func, "_apidoc", {}))  # type: ignore[attr-defined]
        wrapper._apidoc["if_match"] = True  # type: ignore[attr-defined]
        return wrapper

    @staticmethod
    def _prepare_contract_doc(
        doc: dict[str, Any], doc_info: dict[str, Any], *, method: str, **_kwargs: Any
    ) -> dict[str, Any]:
        responses = doc.setdefault("responses", {})
        success = [code for code in doc_info.get("success_status_codes", []) if code in responses]
        notes: list[str] = []
        for code, name in _problem_responses(doc, doc_info, method).items():
            responses.setdefault(code, name)
        if doc_info.get("if_match"):
            doc.setdefault("parameters", []).append(IF_MATCH_PARAMETER)
            responses[412] = _name(412)
            responses[428] = _name(428)
            for code in success:
                responses[code].setdefault("headers", {})["ETag"] = ETAG_HEADER
            notes.append(_IF_MATCH_TEXT)
        if method == "post":
            # The lifecycle honours the key on every POST, not only on those that create.
            doc.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
            for code in success:
                responses[code].setdefault("headers", {})["Idempotent-Replayed"] = REPLAYED_HEADER
            notes.append(_IDEMPOTENCY_TEXT)
        if _has_path_id(doc_info):
            notes.append(_NOT_FOUND_TEXT)
        docstring = doc_info.setdefault("docstring", {})
        text = "\n\n".join(p for p in [docstring.get("description", ""), *notes] if p)
        if text:
            docstring["description"] = text
        return doc


def _has_path_id(doc_info: dict[str, Any]) -> bool:
    return bool(doc_info.get("path_ids"))


def _name(code: int) -> str:
    # Error responses are registered under their status names, as problem+json (BridgeApi).
    return http.HTTPStatus(code).name


def _problem_responses(doc: dict[str, Any], doc_info: dict[str, Any], method: str) -> dict:
    """The problem+json answers the lifecycle and the error handlers can give this operation:
    every call can be refused for its token (401, 429 after repeated failures) or its role (403)
    and meet a database that is away (503)."""
    codes = [401, 403, 429, 503]
    parameters = doc_info.get("arguments", {}).get("parameters", [])
    locations = {p.get("location", "json") for p in parameters}
    if doc_info.get("path_ids"):
        codes.append(404)
    if "query" in locations or method in _WRITES:
        codes.append(422)
    if method in _WRITES:
        # A malformed or over-deep body (400), a clash with data stored meanwhile (409), a
        # concurrent change of the same row found at commit (412), too large a body (413).
        codes += [400, 409, 412, 413]
    return {code: _name(code) for code in sorted(codes)}
