"""The pages: Today, Caseload, Patient, Flags. Each view is one read-model or service call."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from bridge.domain.base import utcnow
from bridge.domain.errors import NotFound, RuleViolation
from bridge.domain.patients import services
from bridge.domain.registry.models import Role
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.readmodels import caseload, patient_view
from bridge.web.recipients import is_recipient
from bridge.web.sections import today_sections
from bridge.web.timeline_svg import draw_timeline

MAX_SEARCH = 200


@bp.get("/today")
@login_required
def today() -> ResponseReturnValue:
    """The nurse's start of the day: every registered section, or its empty state."""
    if is_recipient(g.principal) and not g.principal.has(Role.HOSPITAL):
        # GP and municipality staff log in to the same site; their start is their inbox. A
        # hospital department keeps its Today (its own stays and discharges) beside the inbox.
        return redirect(url_for("web.inbox"), 303)
    sections = today_sections(db.session(), g.principal, utcnow())
    return render_template("today.html", sections=sections, now=utcnow())


@bp.get("/caseload")
@login_required
def caseload_page() -> ResponseReturnValue:
    """The nurse's patients, optionally filtered by name."""
    name = request.args.get("name", "").strip()[:MAX_SEARCH]
    cursor = request.args.get("cursor") or None
    view = caseload(db.session(), g.principal, name=name, cursor=cursor)
    return render_template("caseload.html", view=view, name=name, cpr_error=None)


@bp.post("/caseload/cpr")
@login_required
def caseload_cpr_search() -> ResponseReturnValue:
    """Find a patient by full CPR number; sent in the form body so it never lands in a URL."""
    cpr = request.form.get("cpr", "").strip()[:20]
    try:
        patient = services.find_patient_by_cpr(db.session(), g.principal, cpr)
    except RuleViolation:
        error = _("Write the CPR number as 10 digits, DDMMYYSSSS or DDMMYY-SSSS.")
    except NotFound:
        error = _("None of your patients has that CPR number.")
    else:
        return redirect(url_for("web.patient", patient_id=patient.id), 303)
    view = caseload(db.session(), g.principal, name=None, cursor=None)
    return render_template("caseload.html", view=view, name="", cpr_error=error), 200


def _render_patient(patient_id: int, reveal_cpr: bool) -> ResponseReturnValue:
    view = patient_view(db.session(), g.principal, patient_id, utcnow(), reveal_cpr=reveal_cpr)
    svg = draw_timeline(
        view.timeline,
        view.timeline_last,
        lane_names=_lane_names(),
        month_names=_month_names(),
        title=_("Timeline of the last 12 months"),
    )
    return render_template("patient.html", view=view, timeline_svg=Markup(svg))


@bp.get("/patients/<int:patient_id>")
@login_required
def patient(patient_id: int) -> ResponseReturnValue:
    """Everything about one patient, CPR number masked."""
    return _render_patient(patient_id, reveal_cpr=False)


@bp.post("/patients/<int:patient_id>/cpr")
@login_required
def patient_reveal_cpr(patient_id: int) -> ResponseReturnValue:
    """The same page with the full CPR number shown; the reveal is noted in the audit log."""
    return _render_patient(patient_id, reveal_cpr=True)


def _lane_names() -> dict[str, str]:
    return {
        "enrollment": _("Course"),
        "admission": _("Admissions"),
        "discharge": _("Discharges"),
        "meeting": _("Meetings"),
        "task": _("Tasks"),
    }


def _month_names() -> list[str]:
    names = get_locale().months["format"]["abbreviated"]
    return [str(names[m]).rstrip(".").capitalize() for m in range(1, 13)]
