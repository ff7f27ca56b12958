"""The admin's page for a region's own rules: extra closed days and gap thresholds, each set in
force from a date (the same domain service as ``/api/v1/regions/{id}/rules``)."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bridge.domain.calendar import CLOSABLE_DAYS
from bridge.domain.errors import Conflict, RuleViolation
from bridge.domain.registry import region_rules
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.domain_texts import domain_text
from bridge.web.forms import FormError, date_field

THRESHOLD_MAX = 60


def _closed_day_labels() -> dict[str, str]:
    return {
        "grundlovsdag": _("Constitution Day (5 June)"),
        "juleaften": _("Christmas Eve (24 December)"),
        "nytaarsaften": _("New Year's Eve (31 December)"),
    }


def _threshold_labels() -> dict[str, str]:
    return {
        "gp_ack_working_days": _("Working days before final minutes without the GP's receipt"),
        "meeting_request_working_days": _("Working days to hold a requested network meeting"),
        "discharge_follow_up_working_days": _(
            "Working days before a discharge without follow-up is flagged"
        ),
    }


@bp.get("/region-rules")
@login_required
def region_rules_index() -> ResponseReturnValue:
    """The regions, each leading to its rules (admin)."""
    regions = region_rules.list_regions(db.session(), g.principal)
    return render_template("region_rules_index.html", regions=regions)


def _render(region_id: int, errors: dict[str, str], form: dict[str, Any], status: int) -> Any:
    session = db.session()
    region = region_rules.region_for_rules(session, g.principal, region_id)
    rows = region_rules.list_region_rules(session, region_id)
    return (
        render_template(
            "region_rules.html",
            region=region,
            rows=rows,
            errors=errors,
            form=form,
            closed_days=_closed_day_labels(),
            thresholds=_threshold_labels(),
        ),
        status,
    )


@bp.get("/regions/<int:region_id>/rules")
@login_required
def region_rules_page(region_id: int) -> ResponseReturnValue:
    """A region's rules over time, and a form for a new set from a date."""
    return _render(region_id, {}, {}, 200)


@bp.post("/regions/<int:region_id>/rules")
@login_required
def region_rules_add(region_id: int) -> ResponseReturnValue:
    """Record a new set of rules from a date; a refused one shows the form again as filled in."""
    form = {key: request.form.getlist(key) if key == "closed_days" else request.form.get(key, "")
            for key in ("valid_from", "closed_days", *region_rules.THRESHOLDS)}  # fmt: skip
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"closed_days": [d for d in form["closed_days"] if d in CLOSABLE_DAYS]}
    try:
        data["valid_from"] = date_field("valid_from")
    except FormError as exc:
        errors["valid_from"] = exc.message
    for name in region_rules.THRESHOLDS:
        raw = str(form[name]).strip()
        if not raw:
            data[name] = None
        elif raw.isdigit() and 1 <= int(raw) <= THRESHOLD_MAX:
            data[name] = int(raw)
        else:
            errors[name] = _("Write a whole number of working days from 1 to %(max)s.",
                             max=THRESHOLD_MAX)  # fmt: skip
    if not errors:
        try:
            region_rules.add_region_rules(db.session(), g.principal, region_id, data)
        except (RuleViolation, Conflict) as exc:
            db.session.rollback()
            errors[exc.field if isinstance(exc, RuleViolation) and exc.field else "valid_from"] = (
                domain_text(exc)
            )
            return _render(region_id, errors, form, exc.status)
        return redirect(url_for("web.region_rules_page", region_id=region_id), 303)
    return _render(region_id, errors, form, 422)
