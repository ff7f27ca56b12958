"""The recipients' area of the web, for GP practice and municipality staff (and hospital
departments) with the same login as the nurses: the inbox of what was sent to the organisation,
the minutes it received, its own action items, and a request for a network meeting.

Every read and write is one call into the domain services the API uses
(the ``notifications`` and ``meetings`` use-case modules, ``meetings.recipients``), so
access and audit are the same as over the API.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from bridge.domain.base import utcnow
from bridge.domain.errors import NotFound, RuleViolation
from bridge.domain.identifiers import mask_cpr
from bridge.domain.meetings import action_items, distribution_status, recipients, scoping
from bridge.domain.meetings.grants import caller_organisations
from bridge.domain.meetings.models import ActionItemStatus, MeetingUrgency, NetworkMeeting
from bridge.domain.notifications import inbox as inbox_service
from bridge.domain.patients import services as patients
from bridge.domain.patients.models import Patient
from bridge.extensions import db
from bridge.web.auth import login_required, safe_next
from bridge.web.blueprint import bp, current_language
from bridge.web.domain_texts import domain_text
from bridge.web.forms import FormError, text_field
from bridge.web.readmodels import organisation_names

ROWS = 50
MAX_REASON = 5000


def is_recipient(p: Any) -> bool:
    """Whether the signed-in staff member works at the receiving end (no nurse or admin role)."""
    return (
        p is not None and not p.has(*scoping.MEETING_ROLES) and p.has(*recipients.RECIPIENT_ROLES)
    )


def _recipient_only() -> None:
    if not is_recipient(g.principal):
        abort(404)


def _back(default: str) -> str:
    return safe_next(request.form.get("next"), default)


@bp.get("/inbox")
@login_required
def inbox() -> ResponseReturnValue:
    """What was sent to the organisation: messages, minutes, and its own open action items."""
    _recipient_only()
    p = g.principal
    messages = inbox_service.list_inbox(
        db.session(), p, cursor=None, limit=ROWS, language=current_language()
    ).items
    minutes = recipients.list_received_minutes(db.session(), p, limit=ROWS)
    items = recipients.list_own_action_items(
        db.session(), p, cursor=None, limit=ROWS, status=ActionItemStatus.OPEN
    ).items
    return render_template("recipient_inbox.html", messages=messages, minutes=minutes, items=items)


@bp.get("/inbox/<bigid:notification_id>")
@login_required
def inbox_message(notification_id: int) -> ResponseReturnValue:
    """One message; the email notice links here (it carries no health data itself)."""
    _recipient_only()
    item = inbox_service.get_inbox_item(
        db.session(), g.principal, notification_id, language=current_language()
    )
    ref = item.ref or {}
    minutes_url = None
    if ref.get("meeting_id") and ref.get("version_no"):
        minutes_url = url_for(
            "web.received_minutes", meeting_id=ref["meeting_id"], version_no=ref["version_no"]
        )
    return render_template("recipient_message.html", item=item, minutes_url=minutes_url)


@bp.post("/inbox/<bigid:notification_id>/ack")
@login_required
def inbox_ack(notification_id: int) -> ResponseReturnValue:
    """The organisation has read the message."""
    _recipient_only()
    inbox_service.acknowledge_inbox(db.session(), g.principal, notification_id, utcnow())
    return redirect(
        _back(url_for("web.inbox_message", notification_id=notification_id)) + "#acknowledged",
        303,
    )


@bp.get("/received/meetings/<int:meeting_id>/minutes/<int:version_no>")
@login_required
def received_minutes(meeting_id: int, version_no: int) -> ResponseReturnValue:
    """The final minutes as their recipient reads them, with its own items to close."""
    _recipient_only()
    p = g.principal
    version = recipients.readable_minutes(db.session(), p, meeting_id, version_no)
    # The grant above covers the meeting's patient; this is the header of what was granted.
    meeting = db.session.execute(
        select(
            NetworkMeeting.scheduled_start,
            Patient.id.label("patient_id"),
            Patient.name,
            Patient.cpr,
        )
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .where(NetworkMeeting.id == meeting_id)
    ).one()
    mine = set(caller_organisations(p))
    names = organisation_names(
        db.session(), [i.responsible_organisation_id for i in version.action_items]
    )
    return render_template(
        "recipient_minutes.html",
        version=version,
        meeting_id=meeting_id,
        meeting_start=meeting.scheduled_start,
        patient_id=meeting.patient_id,
        patient_name=meeting.name,
        patient_cpr_masked=mask_cpr(meeting.cpr),
        names=names,
        mine=mine,
        distribution=recipients.received_distribution(db.session(), p, version.id),
        pdf_url=url_for("web.minutes_pdf", meeting_id=meeting_id, version_no=version_no),
    )


@bp.post("/received/distributions/<int:distribution_id>/ack")
@login_required
def received_ack(distribution_id: int) -> ResponseReturnValue:
    """Acknowledge minutes the organisation received."""
    _recipient_only()
    distribution_status.acknowledge_distribution(db.session(), g.principal, distribution_id)
    return redirect(_back(url_for("web.inbox")), 303)


@bp.post("/received/action-items/<int:item_id>/done")
@login_required
def received_item_done(item_id: int) -> ResponseReturnValue:
    """Mark one of the organisation's own action items done."""
    _recipient_only()
    action_items.update_action_item(db.session(), g.principal, item_id, ActionItemStatus.DONE)
    return redirect(_back(url_for("web.inbox")), 303)


# --- asking for a network meeting ---------------------------------------------------------------


def _render_request(
    errors: dict[str, str] | None = None, status: int = 200, patient: Patient | None = None
) -> ResponseReturnValue:
    return render_template(
        "recipient_request.html",
        form=request.form if request.method == "POST" else request.args,
        patient=patient,
        errors=errors or {},
        urgencies=[u.value for u in MeetingUrgency],
    ), status


def _patient_for_request() -> Patient:
    """The patient the request is about: by id (from a page that named it) or by full CPR."""
    patient_id = (request.values.get("patient_id") or "").strip()
    if patient_id.isdigit() and len(patient_id) < 19:
        return patients.get_patient(db.session(), g.principal, int(patient_id))
    cpr = text_field("cpr", 11, required=True)
    try:
        return patients.find_patient_by_cpr(db.session(), g.principal, cpr)
    except RuleViolation as exc:
        raise FormError("cpr", _("Write a valid CPR number.")) from exc
    except NotFound as exc:
        raise FormError("cpr", _("None of your patients has that CPR number.")) from exc


@bp.get("/meeting-request")
@login_required
def meeting_request_form() -> ResponseReturnValue:
    """The form to ask the bridge nurse for a network meeting."""
    _recipient_only()
    patient = None
    if request.args.get("patient_id"):
        patient = _patient_for_request()
    return _render_request(patient=patient)


@bp.post("/meeting-request")
@login_required
def meeting_request_send() -> ResponseReturnValue:
    """Send the request; it lands on the nurse's worklist."""
    _recipient_only()
    try:
        patient = _patient_for_request()
        reason = text_field("reason", MAX_REASON, required=True)
        urgency = request.form.get("urgency", MeetingUrgency.NORMAL.value)
        if urgency not in {u.value for u in MeetingUrgency}:
            raise FormError("urgency", _("Choose how urgent it is."))
        attendees = text_field("attendees", 1000)
    except FormError as exc:
        return _render_request({exc.field: exc.message}, 422)
    text = reason if not attendees else f"{reason}\n\n{_('Should attend')}: {attendees}"
    try:
        recipients.request_meeting(
            db.session(),
            g.principal,
            {"patient_id": patient.id, "reason": text, "urgency": urgency},
        )
    except RuleViolation as exc:
        return _render_request({"reason": domain_text(exc)}, 422, patient)
    return redirect(url_for("web.inbox", sent="request") + "#requests", 303)
