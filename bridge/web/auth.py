"""Signing in and out, the logged-in principal, CSRF, and the HTML error pages."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Response,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import refresh as refresh_babel
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from bridge.domain.access import load_principal
from bridge.domain.auth.services import (
    MAX_PASSWORD_LENGTH,
    authenticate_password,
    end_sessions,
    signed_in_staff,
)
from bridge.domain.base import utcnow
from bridge.domain.errors import DomainError
from bridge.extensions import db
from bridge.web.blueprint import LANGUAGES, bp, csrf

log = logging.getLogger("bridge.web")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@bp.before_request
def _load_user() -> None:
    """Check CSRF on every form post, and find who is signed in."""
    if request.endpoint == "web.static":
        return
    # g lives on the app context, which a test client (or a CLI-pushed context) may share
    # between requests: start every request with no user and the language of this session.
    g.pop("staff", None)
    g.pop("principal", None)
    g.pop("csrf_token", None)  # Flask-WTF's per-request cache of the token
    refresh_babel()
    if request.method in UNSAFE_METHODS:
        csrf.protect()
    staff_id = session.get("staff_id")
    if staff_id is None:
        return
    staff = signed_in_staff(db.session(), staff_id, session.get("epoch"))
    if staff is None:
        # Logged out elsewhere, password changed or account disabled: this cookie is dead.
        _fresh_session()
        return
    g.staff = staff
    # Setting the principal makes the request wrapper commit this request and write its audit.
    g.principal = load_principal(db.session(), staff)


@bp.after_request
def _security_headers(response: Response) -> Response:
    if request.endpoint != "web.static":
        # Pages show health data: never keep them in a cache, never frame them.
        response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send visitors who are not signed in to the login page, and back afterwards."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if "staff" not in g:
            target = request.path if request.method == "GET" else None
            return redirect(url_for("web.login", next=target), 303)
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site may be a redirect target (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _fresh_session() -> None:
    """Drop everything in the session (and so its CSRF token) but the chosen language."""
    lang = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)  # a form drawn after this must carry the new session's token
    if lang:
        session["lang"] = lang


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; a wrong email and a wrong password get the same answer."""
    next_url = safe_next(request.values.get("next"), url_for("web.today"))
    if request.method == "GET":
        if "staff" in g:
            return redirect(next_url, 303)
        return render_template("login.html", next_url=next_url, email="")
    # An anonymous unit of work: with g.principal present the request wrapper commits the
    # failure count (and nothing else happens in this request).
    g.principal = None
    email = request.form.get("email", "")[:254]
    password = request.form.get("password", "")
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    outcome = authenticate_password(db.session(), email, password, utcnow())
    if outcome.staff is None:
        log.info("web login refused (%s)", outcome.reason)
        return render_template(
            "login.html",
            next_url=next_url,
            email=email,
            error=_(
                "The email or password is wrong, or the account is locked for a while after "
                "too many attempts."
            ),
        )
    # A new session on every login, so a session planted before login is worth nothing.
    _fresh_session()
    session.permanent = True
    session["staff_id"] = outcome.staff.id
    session["epoch"] = outcome.session_epoch
    g.staff = outcome.staff
    g.principal = load_principal(db.session(), outcome.staff)
    return redirect(next_url, 303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out: this and every other session of the account ends."""
    if "staff" in g:
        end_sessions(db.session(), g.staff.id)
    _fresh_session()
    return redirect(url_for("web.login"), 303)


@bp.post("/language")
def set_language() -> ResponseReturnValue:
    """Switch between Danish and English."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("web.today")), 303)


# --- error pages ------------------------------------------------------------------------------


def _error_page(status: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, detail=detail), status


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
    log.info("CSRF check failed: %s", exc.description)
    return _error_page(
        400,
        _("The form has expired"),
        _("For your safety the form could not be sent. Go back, reload the page and try again."),
    )


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> ResponseReturnValue:
    if exc.status == 404:
        return _error_page(
            404, _("Not found"), _("The page does not exist, or you may not see it.")
        )
    if exc.status == 403:
        return _error_page(403, _("Not allowed"), _("Your role may not do this."))
    from bridge.web.domain_texts import domain_text

    return _error_page(exc.status, _("Something is not right"), domain_text(exc))


def not_found_page() -> tuple[str, int]:
    """The web's 404: also for URLs that match no route at all."""
    return _error_page(404, _("Not found"), _("The page does not exist, or you may not see it."))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code == 404:
        return not_found_page()
    if exc.code == 405:
        return _error_page(405, _("Not allowed"), _("This page cannot be used that way."))
    return _error_page(exc.code or 500, _("Something went wrong"), _("Please try again."))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on a web page")
    return _error_page(
        500, _("Something went wrong"), _("An unexpected error occurred. Please try again.")
    )
