"""Liveness and readiness probes."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from bridge.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> ResponseReturnValue:
    """The process is alive."""
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready() -> ResponseReturnValue:
    """The database answers and its schema is at the newest migration."""
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError:
        return (
            jsonify({"status": "unavailable", "database": "unreachable"}),
            503,
            {"Retry-After": "5"},
        )
    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    heads = set(script.get_heads())
    if current != heads:
        return jsonify({"status": "unavailable", "database": "migrations pending"}), 503
    return jsonify({"status": "ok", "database": "ok", "schema": sorted(heads)})
