"""The nurse's web front end: server-rendered pages over the same domain services as the API.

Logged-in requests carry a ``Principal`` in ``g.principal``, so the request wrapper in
``bridge/api/http.py`` commits them (and writes their audit notes) exactly like API requests.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

from flask import Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from bridge.config import settings_of
from bridge.web import formatting
from bridge.web.auth import not_found_page
from bridge.web.blueprint import DEFAULT_LANGUAGE, LANGUAGES, babel, bp, csrf, current_language
from bridge.web.labels import label

# Modules that add pages or register sections (see bridge/web/sections.py). Later areas append
# theirs; a module registering under an existing key replaces that section.
WEB_MODULES = (
    "bridge.web.auth",
    "bridge.web.pages",
    "bridge.web.worklist",
    "bridge.web.meetings",
    "bridge.web.discharges",
    "bridge.web.flags",
    "bridge.web.requests",
    "bridge.web.recipients",
    "bridge.web.overview",
    "bridge.web.calendar",
    "bridge.web.messages",
    "bridge.web.region_rules",
    "bridge.web.patient_forms",
    "bridge.web.meeting_changes",
)


def init_web(app: Flask) -> None:
    """Set up sessions, CSRF, translations and the web blueprint on ``app``."""
    secure = settings_of(app).SESSION_COOKIE_SECURE
    if secure is None:
        # Production default: cookies only over HTTPS. Debug and test servers run on plain HTTP.
        secure = not (app.debug or app.testing)
    app.config.update(
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="bridge_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=10),  # one long shift
        # The API under /api/v1 authenticates with bearer tokens and is never CSRF-checked: only
        # the web blueprint calls csrf.protect() (see bridge/web/auth.py).
        WTF_CSRF_CHECK_DEFAULT=False,
        # The token is bound to the session, which has its own lifetime; a form left open over
        # lunch should still submit.
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=DEFAULT_LANGUAGE,
        BABEL_DEFAULT_TIMEZONE="Europe/Copenhagen",
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=current_language)

    app.jinja_env.filters["dkdate"] = formatting.dk_date
    app.jinja_env.filters["dkdatetime"] = formatting.dk_datetime
    app.jinja_env.filters["isodatetime"] = formatting.iso_datetime
    app.jinja_env.filters["dkdue"] = formatting.dk_due
    app.jinja_env.filters["isodue"] = formatting.iso_due
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    for name in WEB_MODULES:
        importlib.import_module(name)
    app.register_blueprint(bp)

    @app.errorhandler(404)
    def _unknown_url(exc: HTTPException) -> ResponseReturnValue:
        # No route matched, so no blueprint handler ran: a browser outside the API gets the
        # web's own (translated) page; the API and JSON clients keep problem+json.
        wants_html = (
            request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
        )
        if request.path.startswith("/api") or not wants_html:
            return app.extensions["bridge_api"].handle_http_exception(exc)
        return not_found_page()

    @app.context_processor
    def _request_path() -> dict[str, str]:
        return {"request_path": request.path}
