"""The request lifecycle: request id, authentication, idempotency, and the one commit."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, Response, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bridge.api.errors import is_database_unavailable, problem, unavailable
from bridge.config import current_settings
from bridge.domain import idempotency
from bridge.domain.access import Principal
from bridge.domain.audit import flush_audit
from bridge.domain.auth.throttle import ThrottleSettings, count_failure
from bridge.domain.base import ColumnRecord, utcnow
from bridge.domain.errors import PreconditionFailed, PreconditionRequired
from bridge.domain.registry.services import authenticate_token
from bridge.extensions import db
from bridge.unit_of_work import UnitOfWork

log = logging.getLogger("bridge.request")

API_PREFIX = "/api/v1/"
FHIR_PROCESS_MESSAGE = "/api/v1/fhir/$process-message"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A year, the lifetime browsers and the preload list expect. Sent only on HTTPS answers (a
# browser ignores it over plain HTTP); behind a proxy, gunicorn marks a request secure from
# X-Forwarded-Proto when it comes from FORWARDED_ALLOW_IPS.
HSTS = "max-age=31536000"
# No body of Bridge nests deeper than a FHIR message does (about a dozen levels); the parsers
# recurse, and a body of a few thousand brackets would exhaust Python's stack (a 500).
MAX_JSON_DEPTH = 64
# Path plus query string, in bytes as sent. The longest the API needs is a list URL with a cursor
# (at most 500 characters) and its filters, well under 1 KB; 4 KB leaves room and stays below
# gunicorn's request-line limit (bridge/gunicorn_conf.py), so the app answers these itself.
MAX_URL_BYTES = 4096
_JSON_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET_RE = re.compile(rb"[^\[\]{}]+")


def current_principal() -> Principal:
    """The authenticated caller of this API request."""
    return g.principal


def _unauthorised(detail: str) -> Response:
    return problem(
        401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="bridge"'}
    )


def _reject_long_url() -> Response | None:
    raw_path = request.environ.get("PATH_INFO", "")  # bytes as sent, decoded as latin-1
    if len(raw_path) + len(request.query_string) <= MAX_URL_BYTES:
        return None
    reason = f"the URL is longer than {MAX_URL_BYTES} bytes"
    return problem(414, "URI too long", reason, errors={"_url": [reason]})


def _authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        return _unauthorised("send an API token as 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not secret.strip():
        return _unauthorised("only the Bearer scheme is accepted")
    now = utcnow()
    principal = authenticate_token(db.session(), secret.strip(), now)
    if principal is None:
        return _token_failed(now)
    g.principal = principal
    return None


def _token_failed(now: datetime) -> Response:
    """Count the failure against the client's address; past the limit answer 429.

    Only failures reach this, so a valid token is never slowed nor costs a statement here.
    """
    settings = current_settings()
    throttle = ThrottleSettings(
        limit=settings.BRIDGE_TOKEN_FAILURE_LIMIT,
        window=timedelta(seconds=settings.BRIDGE_TOKEN_FAILURE_WINDOW_SECONDS),
    )
    verdict = count_failure(db.session(), request.remote_addr or "unknown", now, throttle)
    # The count must outlast this request, which is answered with an error and rolled back.
    UnitOfWork(db.session()).commit()
    if verdict.throttled:
        return problem(
            429,
            "Too many requests",
            "too many failed token attempts from this address; try again later",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    return _unauthorised("the token is unknown, expired or revoked")


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


def _json_too_deep(body: bytes) -> bool:
    # Brackets inside strings do not nest; what is left is only brackets, so the loop is short.
    brackets = _NOT_BRACKET_RE.sub(b"", _JSON_STRING_RE.sub(b"", body))
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _reject_deep_json() -> Response | None:
    if not request.is_json or not _json_too_deep(request.get_data(cache=True)):
        return None
    reason = f"JSON nested more than {MAX_JSON_DEPTH} levels deep is not accepted"
    return problem(400, "Bad request", reason, errors={"_schema": [reason]})


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
    idempotency.claim_key(db.session(), principal.staff_id, key)
    record = idempotency.find_replay(db.session(), principal.staff_id, key, fingerprint, utcnow())
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
    session = db.session()
    work = UnitOfWork(session)
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
            work.commit_last()
        else:
            # The audit notes sit in session.info, which a rollback leaves alone.
            work.rollback()
            flush_audit(session, g.request_id)
            work.commit()
    except StaleDataError:
        work.rollback()
        response = problem(412, "Precondition failed", "the resource was changed by someone else")
    except IntegrityError:
        work.rollback()
        response = problem(409, "Conflict", "the change conflicts with data stored meanwhile")
    except DBAPIError as exc:
        work.rollback()
        if is_database_unavailable(exc):
            log.warning("database unavailable at commit: %s", type(exc.orig).__name__)
            response = unavailable()
        else:
            log.exception("commit failed")
            response = problem(500, "Internal server error", "an unexpected error occurred")
    return response


class WebSessionsOnly(SecureCookieSessionInterface):
    """The signed-cookie session of the web pages, not opened for the API: an API request is
    authenticated by its bearer token alone, so its cookie is neither verified nor re-signed
    (and a browser's session cookie cannot stand in for a token)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIX):
            return None  # Flask then uses a null session, which is never saved
        return super().open_session(app, request)


def init_request_lifecycle(app: Flask) -> None:
    """Install the hooks every request passes through."""
    app.session_interface = WebSessionsOnly()

    @app.before_request
    def _start() -> Response | None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        too_long = _reject_long_url()
        if too_long is not None or not request.path.startswith(API_PREFIX):
            return too_long
        if request.path == FHIR_PROCESS_MESSAGE:
            request.max_content_length = current_settings().BRIDGE_FHIR_MAX_BODY_BYTES
        return _reject_nul() or _reject_deep_json() or _authenticate() or _idempotency_replay()

    @app.after_request
    def _end(response: Response) -> Response:
        if request.path.startswith(API_PREFIX) or "principal" in g:
            response = _finish(response)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.path.startswith(API_PREFIX):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# --- ETags ------------------------------------------------------------------------------------


def etag_of(obj: Any) -> str:
    """A strong ETag from the row's version counter (bumped by every UPDATE)."""
    key = obj.id if hasattr(obj, "id") else obj.staff_id
    # A record read without its entity carries the entity's tag (PatientRecord: "patient-…").
    kind = obj.entity if isinstance(obj, ColumnRecord) else type(obj)
    return f'"{kind.__name__.lower()}-{key}-v{obj.version}"'


def with_etag(obj: Any, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    """A view result carrying the object's ETag."""
    return obj, status, {"ETag": etag_of(obj)}


def require_if_match(obj: Any) -> None:
    """Refuse a write without If-Match (428) or with a stale one (412)."""
    g.if_match_checked = True  # what Blueprint.if_match verifies
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise PreconditionRequired("send If-Match with the ETag you last read")
    tags = {t.strip() for t in if_match.split(",")}
    if "*" not in tags and etag_of(obj) not in tags:
        raise PreconditionFailed("the resource has changed since you read it; read it again")
