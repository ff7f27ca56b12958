"""Short forms on the patient's page for what a nurse records herself: the patient's GP practice
(a flag asks for it), a consent, a relative and a somatic screening. Each calls the same domain
service as the API; a refused form is shown again with her input and the reason in Danish."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.errors import DomainError
from bridge.domain.gaps import services as gaps
from bridge.domain.patients import records
from bridge.domain.patients import services as patients
from bridge.domain.patients.models import ConsentScope
from bridge.domain.registry.effective import copenhagen_today
from bridge.domain.registry.models import OrganisationKind
from bridge.domain.registry.services import find_open_practices
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.domain_texts import domain_text
from bridge.web.forms import FormError, date_field, int_field, text_field

CONSENT_KINDS = (
    OrganisationKind.GP_PRACTICE,
    OrganisationKind.MUNICIPALITY,
    OrganisationKind.HOSPITAL_DEPARTMENT,
    OrganisationKind.SOCIAL_PSYCHIATRY_FACILITY,
    OrganisationKind.SPECIALIST_PRACTICE,
)


def _back(patient_id: int, anchor: str) -> ResponseReturnValue:
    return redirect(url_for("web.patient", patient_id=patient_id) + f"#{anchor}", 303)


def _refused(patient_id: int, form: str, message: str) -> ResponseReturnValue:
    """The form page again, with her input and why it was refused."""
    return _form_page(patient_id, form, {"form": message}, dict(request.form), 422)


def _form_page(
    patient_id: int, form: str, errors: dict[str, str], values: dict[str, Any], status: int
) -> ResponseReturnValue:
    session = db.session()
    patient = patients.write_patient_scoped(
        session, g.principal, patient_id, "patient", AuditAction.READ
    )
    query = request.args.get("q", "").strip()[:100]
    practices = find_open_practices(session, query, copenhagen_today()) if query else []
    return (
        render_template(
            "patient_form.html",
            patient=patient,
            which=form,
            errors=errors,
            form=values,
            query=query,
            practices=practices,
            consent_kinds=CONSENT_KINDS,
            scopes=list(ConsentScope),
        ),
        status,
    )


@bp.get("/patients/<int:patient_id>/record/<any(gp, consent, relative, screening):form>")
@login_required
def patient_form(patient_id: int, form: str) -> ResponseReturnValue:
    """One short form for the patient (the GP form searches practices by name)."""
    return _form_page(patient_id, form, {}, {}, 200)


@bp.post("/patients/<int:patient_id>/gp")
@login_required
def patient_set_gp(patient_id: int) -> ResponseReturnValue:
    """List the patient with a GP practice that is open today."""
    practice_id = int_field("gp_practice_id")
    if practice_id is None:
        return _refused(patient_id, "gp", _("Choose the practice."))
    session = db.session()
    patient = patients.write_patient_scoped(
        session, g.principal, patient_id, "patient", AuditAction.UPDATE
    )
    try:
        patients.update_patient(session, g.principal, patient, {"gp_practice_id": practice_id})
    except DomainError as exc:
        db.session.rollback()
        return _refused(patient_id, "gp", domain_text(exc))
    return _back(patient_id, "identity-title")


@bp.post("/patients/<int:patient_id>/consents")
@login_required
def patient_add_consent(patient_id: int) -> ResponseReturnValue:
    """Record the patient's consent to share with a kind of organisation."""
    kind = request.form.get("recipient_kind", "")
    scope = request.form.get("scope", "")
    if kind not in {k.value for k in CONSENT_KINDS} or scope not in {s.value for s in ConsentScope}:
        return _refused(patient_id, "consent", _("Choose who may receive and what."))
    data = {
        "recipient_kind": OrganisationKind(kind),
        "recipient_organisation_id": None,
        "scope": ConsentScope(scope),
        "given_at": utcnow(),
        "note": text_field("note", 1000) or None,
    }
    try:
        records.give_consent(db.session(), g.principal, patient_id, data)
    except DomainError as exc:
        db.session.rollback()
        return _refused(patient_id, "consent", domain_text(exc))
    return _back(patient_id, "consent-title")


@bp.post("/patients/<int:patient_id>/relatives")
@login_required
def patient_add_relative(patient_id: int) -> ResponseReturnValue:
    """Record a relative, and whether they may receive information."""
    try:
        data = {
            "name": text_field("name", 200, required=True),
            "relation": text_field("relation", 100, required=True),
            "contact": text_field("contact", 200) or None,
            "may_receive_information": request.form.get("may_receive_information") == "yes",
        }
        records.add_relative(db.session(), g.principal, patient_id, data)
    except FormError as exc:
        return _form_page(patient_id, "relative", {exc.field: exc.message}, dict(request.form), 422)
    except DomainError as exc:
        db.session.rollback()
        return _refused(patient_id, "relative", domain_text(exc))
    return _back(patient_id, "relatives-title")


@bp.post("/patients/<int:patient_id>/screenings")
@login_required
def patient_add_screening(patient_id: int) -> ResponseReturnValue:
    """Record a somatic screening on a day."""
    try:
        day = date_field("screened_on")
        note = text_field("note", 1000) or None
        gaps.record_screening(db.session(), g.principal, patient_id, day, note)
    except FormError as exc:
        values = dict(request.form)
        return _form_page(patient_id, "screening", {exc.field: exc.message}, values, 422)
    except DomainError as exc:
        db.session.rollback()
        return _refused(patient_id, "screening", domain_text(exc))
    return _back(patient_id, "identity-title")
