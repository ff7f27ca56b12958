"""The REST API under /api/v1: thin flask-smorest blueprints over domain services."""

from __future__ import annotations

from flask import Flask

from bridge.api.errors import BridgeApi

API_BLUEPRINTS = (
    "bridge.api.organisations",
    "bridge.api.staff",
    "bridge.api.nurses",
    "bridge.api.patients",
    "bridge.api.care_requests",
    "bridge.api.flags",
    "bridge.api.notifications",
    "bridge.api.fhir_messaging",
    "bridge.api.meetings",
    "bridge.api.meeting_summaries",
    "bridge.api.recipients",
    "bridge.api.admissions",
    "bridge.api.patient_course",
    "bridge.api.follow_ups",
    "bridge.api.follow_up_templates",
    "bridge.api.region_rules",
    "bridge.api.overview",
)


def init_api(app: Flask) -> BridgeApi:
    """Create the API object and register every blueprint."""
    import importlib

    from bridge.api.converters import BigIdConverter, IdConverter
    from bridge.api.schemas import MAX_BIG_ID, MAX_ID

    # Every <int:...> in a route is an id: positive and within integer; <bigid:...> within bigint.
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["bigid"] = BigIdConverter
    api = BridgeApi(app, spec_kwargs={"info": {"description": _DESCRIPTION}})
    api.register_converter(
        IdConverter, lambda _c: {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    )
    api.register_converter(
        BigIdConverter, lambda _c: {"type": "integer", "minimum": 1, "maximum": MAX_BIG_ID}
    )
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "an API token"}
    )
    api.spec.options["security"] = [{"bearer": []}]
    for module_name in API_BLUEPRINTS:
        module = importlib.import_module(module_name)
        api.register_blueprint(module.blp, url_prefix="/api/v1" + module.URL_PREFIX)
    app.extensions["bridge_api"] = api
    return api


_DESCRIPTION = (
    "Bridge keeps patients, bridge nurses, cross-sector network meetings and follow-up after "
    "discharge. Authenticate with `Authorization: Bearer <token>`. Errors are "
    "`application/problem+json`. Lists use `limit` and an opaque `cursor`."
)
