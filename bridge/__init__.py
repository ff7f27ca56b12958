"""Bridge: cross-sector care coordination for bridge-builder nurses."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, Response, jsonify, redirect, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue

from bridge.config import DEFAULTS, Settings, flask_config, from_environment
from bridge.logs import configure_logging


def create_app(
    test_config: dict[str, Any] | None = None, settings: Settings | None = None
) -> Flask:
    """Build the web application (the scheduler builds its own app from the same function).

    ``settings`` default to the environment's; a test's ``test_config`` may override any
    setting by its name, and Flask's own keys."""
    app = Flask(__name__, instance_relative_config=True)
    settings = settings or from_environment()
    if test_config:
        settings = settings.with_values(test_config)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(flask_config(settings, app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    app.extensions["bridge.settings"] = settings
    os.makedirs(app.instance_path, exist_ok=True)
    configure_logging(settings.LOG_LEVEL)
    from bridge.domain.access import configure_access

    configure_access(
        treatment_access_days=settings.BRIDGE_TREATMENT_ACCESS_DAYS,
        registrations_per_day=settings.BRIDGE_REGISTRATIONS_PER_DAY,
    )

    from bridge.bootstrap import compose

    # What runs (rules, handlers, sources, sections) is wired in one place, for every entry
    # point built on this app: web, API, CLI and the scheduler.
    compose()

    from bridge.api import init_api
    from bridge.api.errors import register_error_handlers
    from bridge.api.http import init_request_lifecycle
    from bridge.extensions import db, migrate
    from bridge.json_provider import OrjsonProvider
    from bridge.web import init_web

    app.json = OrjsonProvider(app)
    db.init_app(app)
    from bridge.pool import replace_dead_connections

    with app.app_context():
        replace_dead_connections(db.engine)
    migrate.init_app(app, db, directory=_migrations_dir())
    init_request_lifecycle(app)
    register_error_handlers(app)
    init_api(app)
    init_web(app)
    from bridge.cli import register_commands

    register_commands(app)
    _register_docs_assets(app)

    from bridge.health import bp as health_bp

    app.register_blueprint(health_bp)

    @app.get("/")
    def index() -> ResponseReturnValue:
        # A person's browser goes to the login (which sends a signed-in nurse on to Today);
        # API clients get the index.
        if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
            return redirect(url_for("web.login"))
        return jsonify(
            {
                "service": "bridge",
                "api": "/api/v1",
                "openapi": "/api/openapi.json",
                "docs": "/api/docs",
            }
        )

    logging.getLogger("bridge").debug("app created")
    return app


def _migrations_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def _register_docs_assets(app: Flask) -> None:
    # Swagger UI's files come from the swagger-ui-bundle package, so the docs work offline.
    import swagger_ui_bundle

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str) -> Response:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
