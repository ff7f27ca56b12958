"""The one error shape: RFC 9457 problem details, with field errors and the request id."""

from __future__ import annotations

import http
import logging
from typing import Any

from flask import Flask, Response, g, json
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from bridge.domain.errors import DomainError, NotFound
from bridge.unit_of_work import is_database_unavailable

log = logging.getLogger("bridge.api")

PROBLEM_TYPE_BASE = "https://bridge.example/problems/"
PROBLEM_JSON = "application/problem+json"
# How long a client should wait before retrying while the database is away: a restart or a
# failover takes seconds.
RETRY_AFTER_SECONDS = 5
NOT_FOUND_DETAIL = "no such resource, or not one you may see"


class ProblemSchema(Schema):
    type = fields.String(metadata={"description": "URI naming the kind of problem"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "field name -> reasons, for validation errors"},
    )
    request_id = fields.String(allow_none=True)
    allowed = fields.List(fields.String(), metadata={"description": "allowed next states"})
    admission_id = fields.Integer(
        metadata={"description": "the patient's open stay in the department, for that conflict"}
    )
    reason = fields.String(
        allow_none=True,
        metadata={"description": "why a blocked distribution still cannot be released"},
    )


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests errors by location and by field; callers want 'field.sub' -> reasons."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = [str(m) for m in messages]
    elif isinstance(messages, list | tuple):
        for i, value in enumerate(messages):
            for k, v in _flatten(value, f"{prefix}.{i}" if prefix else str(i)).items():
                out.setdefault(k, []).extend(v)
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    slug: str | None = None,
    **extra: Any,
) -> Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail or title,
        "request_id": getattr(g, "request_id", None),
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class BridgeApi(Api):
    """flask-smorest's Api, answering every HTTP error as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> Any:
        # Error responses are documented with the media type they are sent with; smorest would
        # otherwise document them as application/json.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            else:
                prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "An error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Any:
        data = getattr(error, "data", None) or {}
        errors = None
        if "messages" in data:
            errors = _flatten(data["messages"])
            # webargs nests by location ("json", "query"); the field name is what a caller needs.
            errors = {
                k.split(".", 1)[1] if k.split(".", 1)[0] in _LOCATIONS and "." in k else k: v
                for k, v in errors.items()
            }
        detail = data.get("message") or error.description
        if error.code == 422 and errors:
            detail = "the request has invalid fields: " + ", ".join(sorted(errors))
        headers = dict(data.get("headers") or {})
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return problem(error.code or 500, error.name, detail, errors=errors, headers=headers)


_LOCATIONS = {"json", "query", "headers", "form", "files", "cookies", "path", "view_args"}


def register_error_handlers(app: Flask) -> None:
    """Map domain and database errors to problem responses, once, for the whole app."""

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Any:
        if isinstance(exc, NotFound):
            # One answer for every 404: which check refused ("no such meeting" or "no such
            # patient") would tell a foreign object from one that does not exist.
            return problem(404, NotFound.title, NOT_FOUND_DETAIL)
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return problem(
            exc.status, exc.title, exc.detail, errors=exc.errors, headers=headers, **exc.extra
        )

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> Any:
        return problem(412, "Precondition failed", "the resource was changed by someone else")

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Any:
        # A constraint the domain did not check first: the request clashes with stored data.
        log.warning("integrity error: %s", type(exc.orig).__name__)
        return problem(409, "Conflict", "the request conflicts with data already stored")

    @app.errorhandler(DBAPIError)
    def _db_error(exc: DBAPIError) -> Any:
        if is_database_unavailable(exc):
            log.warning("database unavailable: %s", type(exc.orig).__name__)
            return unavailable()
        log.exception("database error")
        return problem(500, "Internal server error", "an unexpected error occurred")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return app.extensions["bridge_api"].handle_http_exception(exc)
        log.exception("unhandled error")
        return problem(500, "Internal server error", "an unexpected error occurred")


def unavailable() -> Response:
    """The answer to a request that could not reach the database."""
    return problem(
        503,
        "Service unavailable",
        "the database is unavailable; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
