"""The request lifecycle: request id, authentication, idempotency, and the one commit."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bridge.api.errors import problem
from bridge.domain import idempotency
from bridge.domain.access import Principal
from bridge.domain.audit import flush_audit
from bridge.domain.base import utcnow
from bridge.domain.errors import PreconditionFailed, PreconditionRequired
from bridge.domain.registry.services import authenticate_token
from bridge.extensions import db

log = logging.getLogger("bridge.request")

API_PREFIX = "/api/v1/"
FHIR_PROCESS_MESSAGE = "/api/v1/fhir/$process-message"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_principal() -> Principal:
    """The authenticated caller of this API request."""
    return g.principal


def _unauthorised(detail: str) -> Response:
    return problem(
        401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="bridge"'}
    )


def _authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        return _unauthorised("send an API token as 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not secret.strip():
        return _unauthorised("only the Bearer scheme is accepted")
    principal = authenticate_token(db.session, secret.strip(), utcnow())
    if principal is None:
        return _unauthorised("the token is unknown, expired or revoked")
    g.principal = principal
    return None


def _reject_nul() -> Response | None:
    # PostgreSQL cannot store NUL in text; no field of Bridge has a use for it.
    body = request.get_data(cache=True)
    if b"\\u0000" in body or b"\x00" in body or "\x00" in "".join(request.args.values()):
        return problem(
            422,
            "Unprocessable content",
            "NUL characters are not accepted",
            errors={"_schema": ["NUL characters are not accepted"]},
        )
    return None


def _idempotency_replay() -> Response | None:
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None:
        return None
    if not 1 <= len(key) <= 200:
        return problem(
            422,
            "Unprocessable content",
            "Idempotency-Key must be 1 to 200 characters",
            errors={"Idempotency-Key": ["must be 1 to 200 characters"]},
        )
    principal = current_principal()
    fingerprint = idempotency.fingerprint(request.method, request.path, request.get_data())
    idempotency.claim_key(db.session, principal.staff_id, key)
    record = idempotency.find_replay(db.session, principal.staff_id, key, fingerprint, utcnow())
    if record is not None:
        response = Response(
            record.response_body, status=record.response_status, mimetype="application/json"
        )
        if record.response_location:
            response.headers["Location"] = record.response_location
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency = (key, fingerprint)
    return None


def _finish(response: Response) -> Response:
    """Commit on success; on failure roll back but keep the audit trail of the attempt."""
    session = db.session
    try:
        if response.status_code < 400:
            pending = g.pop("idempotency", None)
            if pending and response.headers.get("Idempotent-Replayed") is None:
                key, fingerprint = pending
                idempotency.remember(
                    session,
                    g.principal.staff_id,
                    key,
                    fingerprint,
                    response.status_code,
                    response.get_data(as_text=True),
                    response.headers.get("Location"),
                    utcnow(),
                )
            flush_audit(session, g.request_id)
            session.commit()
        else:
            # The audit notes sit in session.info, which a rollback leaves alone.
            session.rollback()
            flush_audit(session, g.request_id)
            session.commit()
    except StaleDataError:
        session.rollback()
        response = problem(412, "Precondition failed", "the resource was changed by someone else")
    except IntegrityError:
        session.rollback()
        response = problem(409, "Conflict", "the change conflicts with data stored meanwhile")
    except DBAPIError as exc:
        session.rollback()
        if exc.connection_invalidated:
            response = problem(
                503,
                "Service unavailable",
                "the database is unavailable",
                headers={"Retry-After": "5"},
            )
        else:
            log.exception("commit failed")
            response = problem(500, "Internal server error", "an unexpected error occurred")
    return response


def init_request_lifecycle(app: Flask) -> None:
    """Install the hooks every request passes through."""

    @app.before_request
    def _start() -> Response | None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        if not request.path.startswith(API_PREFIX):
            return None
        if request.path == FHIR_PROCESS_MESSAGE:
            request.max_content_length = current_app.config["FHIR_MAX_BODY_BYTES"]
        return _reject_nul() or _authenticate() or _idempotency_replay()

    @app.after_request
    def _end(response: Response) -> Response:
        if request.path.startswith(API_PREFIX) or "principal" in g:
            response = _finish(response)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.path.startswith(API_PREFIX):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# --- ETags ------------------------------------------------------------------------------------


def etag_of(obj: Any) -> str:
    """A strong ETag from the row's version counter (bumped by every UPDATE)."""
    key = obj.id if hasattr(obj, "id") else obj.staff_id
    return f'"{type(obj).__name__.lower()}-{key}-v{obj.version}"'


def with_etag(obj: Any, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    """A view result carrying the object's ETag."""
    return obj, status, {"ETag": etag_of(obj)}


def require_if_match(obj: Any) -> None:
    """Refuse a write without If-Match (428) or with a stale one (412)."""
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise PreconditionRequired("send If-Match with the ETag you last read")
    tags = {t.strip() for t in if_match.split(",")}
    if "*" not in tags and etag_of(obj) not in tags:
        raise PreconditionFailed("the resource has changed since you read it; read it again")
