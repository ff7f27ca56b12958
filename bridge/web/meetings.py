"""Meeting pages: plan a network meeting, record it as held, write and finalise the minutes, and
follow their distribution. Every step is one call into a use-case module of
bridge.domain.meetings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bridge.documents.minutes_pdf import pdf_response
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.errors import Conflict, RuleViolation
from bridge.domain.meetings import distribution_status, ledger, scheduling
from bridge.domain.meetings import minutes as minutes_service
from bridge.domain.meetings.minutes_document import minutes_document
from bridge.domain.meetings.models import (
    HandoverMethod,
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    ParticipantKind,
)
from bridge.domain.patients import records
from bridge.domain.patients import services as patients
from bridge.domain.patients.models import CareTeamRole
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.domain_texts import domain_text
from bridge.web.forms import FormError, at, date_field, int_field, text_field, time_field
from bridge.web.readmodels import organisation_names

MAX_TEXT = 20_000
MAX_ITEMS = 20
BLANK_ITEM_ROWS = 2
# Care team members who treat the patient get the minutes as health care (no consent needed).
TREATING = {
    CareTeamRole.PSYCHIATRY,
    CareTeamRole.SOMATIC,
    CareTeamRole.GP,
    CareTeamRole.PRACTISING_PSYCHIATRIST,
}


# --- planning -----------------------------------------------------------------------------------


def _rule_message(exc: RuleViolation) -> str:
    """The user's language for a rule these forms can break."""
    return domain_text(exc)


def _planning_choices(patient_id: int) -> tuple[list[dict[str, Any]], list[Any]]:
    team = records.list_care_team(db.session(), g.principal, patient_id)
    names = organisation_names(db.session(), [m.organisation_id for m in team])
    members = [
        {"member": m, "org_name": names.get(m.organisation_id, ""), "treating": m.role in TREATING}
        for m in team
    ]
    return members, records.list_relatives(db.session(), g.principal, patient_id)


def _render_new(
    patient_id: int, errors: dict[str, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    patient = patients.get_patient(db.session(), g.principal, patient_id)
    members, relatives = _planning_choices(patient_id)
    return render_template(
        "meeting_new.html",
        patient=patient,
        members=members,
        relatives=relatives,
        form=request.form,
        errors=errors or {},
    ), status


@bp.get("/patients/<int:patient_id>/meetings/new")
@login_required
def meeting_new(patient_id: int) -> ResponseReturnValue:
    """The form to plan a network meeting."""
    return _render_new(patient_id)


@bp.post("/patients/<int:patient_id>/meetings")
@login_required
def meeting_create(patient_id: int) -> ResponseReturnValue:
    """Plan the meeting with the chosen participants, then show it."""
    try:
        day = date_field("date")
        start = at(day, time_field("start"))
        end = at(day, time_field("end"))
        data: dict[str, Any] = {
            "patient_id": patient_id,
            "scheduled_start": start,
            "scheduled_end": end,
            "place": text_field("place", 300) or None,
            "agenda": text_field("agenda", MAX_TEXT) or None,
            "participants": _chosen_participants(patient_id),
        }
    except FormError as exc:
        return _render_new(patient_id, {exc.field: exc.message}, 422)
    try:
        meeting = scheduling.create_meeting(db.session(), g.principal, data)
    except RuleViolation as exc:
        field_name = {"scheduled_end": "end", "scheduled_start": "start"}.get(
            exc.field or "", "form"
        )
        return _render_new(patient_id, {field_name: _rule_message(exc)}, 422)
    return redirect(url_for("web.meeting", meeting_id=meeting.id), 303)


def _chosen_participants(patient_id: int) -> list[dict[str, Any]]:
    members, relatives = _planning_choices(patient_id)
    chosen = set(request.form.getlist("participant"))
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for m in members:
        member = m["member"]
        if f"team-{member.id}" in chosen and member.organisation_id not in seen:
            seen.add(member.organisation_id)
            rows.append(
                {
                    "kind": ParticipantKind.ORGANISATION,
                    "organisation_id": member.organisation_id,
                    "person_name": member.contact_name,
                    "role": member.role.value,
                    "treating_health_care": m["treating"],
                }
            )
    if "patient" in chosen:
        rows.append({"kind": ParticipantKind.PATIENT})
    for r in relatives:
        if f"relative-{r.id}" in chosen:
            rows.append(
                {"kind": ParticipantKind.RELATIVE, "relative_id": r.id, "person_name": r.name}
            )
    return rows


# --- the meeting page ---------------------------------------------------------------------------


@dataclass
class MinutesDraft:
    """What the minutes editor shows: the stored draft, or the user's own text after a refusal."""

    summary: str = ""
    decisions: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0


def _draft_from(version: MinutesVersion | None) -> MinutesDraft:
    if version is None:
        return MinutesDraft()
    return MinutesDraft(
        summary=version.summary,
        decisions=version.decisions,
        items=[
            {
                "description": i.description,
                "organisation_id": i.responsible_organisation_id,
                "person": i.person or "",
                "due_date": i.due_date.isoformat() if i.due_date else "",
            }
            for i in version.action_items
        ],
        version=version.version,
    )


def _local_times(meeting: NetworkMeeting) -> dict[str, str]:
    """The meeting's day and times in Copenhagen, as the move form's fields want them."""
    start, end = meeting.scheduled_start, meeting.scheduled_end
    local = start.astimezone(COPENHAGEN) if start else None
    return {
        "date": local.date().isoformat() if local else "",
        "start": local.strftime("%H:%M") if local else "",
        "end": end.astimezone(COPENHAGEN).strftime("%H:%M") if end else "",
    }


def render_meeting(
    meeting_id: int,
    *,
    draft: MinutesDraft | None = None,
    theirs: MinutesVersion | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    p = g.principal
    meeting = scheduling.get_meeting(db.session(), p, meeting_id)
    patient = patients.get_patient(db.session(), p, meeting.patient_id)
    versions = minutes_service.list_minutes(db.session(), p, meeting_id)
    latest = versions[-1] if versions else None
    final = next((v for v in reversed(versions) if v.status == MinutesStatus.FINAL), None)
    distributions = (
        distribution_status.list_distributions(db.session(), p, meeting_id) if final else []
    )
    relatives = {r.id: r for r in records.list_relatives(db.session(), p, meeting.patient_id)}
    team_orgs = [
        m.organisation_id for m in records.list_care_team(db.session(), p, meeting.patient_id)
    ]
    names = organisation_names(
        db.session(),
        [pt.organisation_id for pt in meeting.participants]
        + [d.recipient_organisation_id for d in distributions]
        + [i.responsible_organisation_id for v in versions for i in v.action_items]
        + team_orgs
        + [patient.municipality_id, patient.gp_practice_id]
        + [i.get("organisation_id") for i in (draft.items if draft else [])],
    )
    editing = latest is not None and latest.status == MinutesStatus.DRAFT
    if draft is None:
        draft = _draft_from(latest if editing else None)
    return render_template(
        "meeting.html",
        meeting=meeting,
        when=_local_times(meeting),
        patient=patient,
        relatives=relatives,
        names=names,
        versions=versions,
        latest=latest,
        final=final,
        editing=editing,
        can_start=meeting.status == MeetingStatus.HELD and latest is None,
        draft=draft,
        item_rows=draft.items + [{}] * BLANK_ITEM_ROWS,
        responsible_orgs=_responsible_choices(
            names, team_orgs, patient, meeting, [i.get("organisation_id") for i in draft.items]
        ),
        distributions=distributions,
        theirs=theirs,
        errors=errors or {},
        notice=notice,
    ), status


def _responsible_choices(
    names: dict[int, str],
    team_orgs: list[int],
    patient: Any,
    meeting: NetworkMeeting,
    owners: list[int | None],
) -> list[tuple[int, str]]:
    """Who may own an action item: the patient's care team, GP practice and municipality, the
    organisations at the meeting, and whoever owns an item already, so that saving the form
    never hands an item to somebody else because its owner was missing from the list."""
    ids = [
        *team_orgs,
        patient.gp_practice_id,
        patient.municipality_id,
        *(pt.organisation_id for pt in meeting.participants),
        *owners,
    ]
    return sorted({o: names.get(o, "") for o in ids if o is not None}.items(), key=lambda kv: kv[1])


@bp.get("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id: int) -> ResponseReturnValue:
    """One meeting: participants, attendance, minutes and their distribution."""
    notice = {
        "saved": _("The draft is saved."),
        "final": _("The minutes are final and sent."),
        "released": _("The minutes are on their way to the recipient."),
        "handed": _("The hand-over is recorded."),
    }
    return render_meeting(meeting_id, notice=notice.get(request.args.get("done", "")))


@bp.post("/meetings/<int:meeting_id>/hold")
@login_required
def meeting_hold(meeting_id: int) -> ResponseReturnValue:
    """Record that the meeting took place, with who attended."""
    m = scheduling.get_meeting(db.session(), g.principal, meeting_id)
    try:
        scheduling.hold_meeting(db.session(), g.principal, meeting_id, _attendance(m))
    except RuleViolation as exc:
        return render_meeting(meeting_id, errors={"hold": domain_text(exc)}, status=422)
    return redirect(url_for("web.meeting", meeting_id=meeting_id), 303)


@bp.post("/meetings/<int:meeting_id>/attendance")
@login_required
def meeting_attendance(meeting_id: int) -> ResponseReturnValue:
    """Correct who attended a held meeting."""
    m = scheduling.get_meeting(db.session(), g.principal, meeting_id)
    scheduling.record_attendance(db.session(), g.principal, meeting_id, _attendance(m))
    return redirect(url_for("web.meeting", meeting_id=meeting_id), 303)


def _attendance(m: NetworkMeeting) -> list[dict[str, Any]]:
    present = set(request.form.getlist("attended"))
    return [{"participant_id": pt.id, "attended": str(pt.id) in present} for pt in m.participants]


def _posted_minutes() -> tuple[MinutesDraft, dict[str, Any]]:
    """The editor's fields as the user wrote them, and as data for the service."""
    summary = request.form.get("summary", "")[:MAX_TEXT]
    decisions = request.form.get("decisions", "")[:MAX_TEXT]
    items: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for i in range(MAX_ITEMS + BLANK_ITEM_ROWS):
        description = request.form.get(f"item-{i}-description", "").strip()[:1000]
        if not description:
            continue
        org_id = int_field(f"item-{i}-organisation")
        person = request.form.get(f"item-{i}-person", "").strip()[:200]
        due = request.form.get(f"item-{i}-due", "").strip()[:10]
        items.append(
            {"description": description, "organisation_id": org_id, "person": person,
             "due_date": due}
        )  # fmt: skip
    version = int_field("version") or 0
    draft = MinutesDraft(summary=summary, decisions=decisions, items=items, version=version)
    for item in items:
        try:
            due_day = date.fromisoformat(item["due_date"]) if item["due_date"] else None
        except ValueError:
            raise FormError("items", _("Write the date as YYYY-MM-DD.")) from None
        rows.append(
            {
                "description": item["description"],
                "responsible_organisation_id": item["organisation_id"],
                "person": item["person"] or None,
                "due_date": due_day,
            }
        )
    if len(rows) > MAX_ITEMS:
        raise FormError("items", _("At most %(n)s action items.", n=MAX_ITEMS))
    return draft, {"summary": summary, "decisions": decisions, "action_items": rows}


@bp.post("/meetings/<int:meeting_id>/minutes")
@login_required
def minutes_create(meeting_id: int) -> ResponseReturnValue:
    """Start the minutes (draft version 1) with what was written so far."""
    try:
        draft, data = _posted_minutes()
    except FormError as exc:
        return render_meeting(meeting_id, errors={exc.field: exc.message}, status=422)
    finalise = request.form.get("do") == "finalise"
    try:
        cmd = minutes_service.NewMinutes(
            summary=data["summary"],
            decisions=data["decisions"],
            action_items=tuple(minutes_service.ActionItemInput(**r) for r in data["action_items"]),
        )
        version = minutes_service.create_minutes(db.session(), g.principal, meeting_id, cmd)
        # "Finalise and send" on a first write: save and finalise in one step (one transaction,
        # so a refused finalisation leaves no draft behind either).
        if finalise:
            minutes_service.finalise_minutes(db.session(), g.principal, version)
    except RuleViolation as exc:
        db.session.rollback()
        key = exc.field if exc.field in ("summary", "decisions") else "items"
        return render_meeting(meeting_id, draft=draft, errors={key: _rule_message(exc)}, status=422)
    done = "final" if finalise else "saved"
    return redirect(url_for("web.meeting", meeting_id=meeting_id, done=done), 303)


@bp.post("/meetings/<int:meeting_id>/minutes/<int:version_no>")
@login_required
def minutes_save(meeting_id: int, version_no: int) -> ResponseReturnValue:
    """Save the draft, or save and finalise it; a stale edit is refused with the text kept."""
    p = g.principal
    try:
        draft, data = _posted_minutes()
    except FormError as exc:
        return render_meeting(meeting_id, errors={exc.field: exc.message}, status=422)
    version = minutes_service.get_minutes_for_update(db.session(), p, meeting_id, version_no)
    if version.status != MinutesStatus.DRAFT or draft.version != version.version:
        # The version the user started from is not the stored one: like If-Match, refuse, show
        # the other person's text, and keep the user's own text in the editor.
        draft.version = version.version
        return render_meeting(meeting_id, draft=draft, theirs=version, status=412)
    finalise = request.form.get("do") == "finalise"
    try:
        minutes_service.update_minutes(db.session(), p, version, data)
        if finalise:
            minutes_service.finalise_minutes(db.session(), p, version)
    except RuleViolation as exc:
        key = exc.field if exc.field in ("summary", "decisions") else "items"
        return render_meeting(meeting_id, draft=draft, errors={key: _rule_message(exc)}, status=422)
    done = "final" if finalise else "saved"
    return redirect(url_for("web.meeting", meeting_id=meeting_id, done=done), 303)


@bp.get("/meetings/<int:meeting_id>/minutes/<int:version_no>/pdf")
@login_required
def minutes_pdf(meeting_id: int, version_no: int) -> ResponseReturnValue:
    """The minutes as PDF, for whoever may read them (checked and logged by the service)."""
    return pdf_response(minutes_document(db.session(), g.principal, meeting_id, version_no))


# --- distribution: release a blocked row, record a hand-over ------------------------------------


@bp.post("/meetings/<int:meeting_id>/distributions/<int:distribution_id>/release")
@login_required
def distribution_release(meeting_id: int, distribution_id: int) -> ResponseReturnValue:
    """Send a row that was blocked for lack of consent, now that the consent is recorded."""
    try:
        ledger.release_distribution(db.session(), g.principal, distribution_id)
    except Conflict:
        message = _("There is still no consent that covers the minutes. Record it first.")
        return render_meeting(meeting_id, errors={"distribution": message}, status=409)
    return redirect(url_for("web.meeting", meeting_id=meeting_id, done="released"), 303)


@bp.post("/meetings/<int:meeting_id>/distributions/<int:distribution_id>/handover")
@login_required
def distribution_handover(meeting_id: int, distribution_id: int) -> ResponseReturnValue:
    """Record that the nurse handed a copy to the patient or a relative."""
    try:
        to = text_field("handed_over_to", 200)
    except FormError as exc:
        return render_meeting(meeting_id, errors={"distribution": exc.message}, status=422)
    method = request.form.get("method", "")
    if not to or method not in {m.value for m in HandoverMethod}:
        message = _("Write whom the copy was handed to, and how.")
        return render_meeting(meeting_id, errors={"distribution": message}, status=422)
    try:
        ledger.record_handover(
            db.session(), g.principal, distribution_id, {"handed_over_to": to, "method": method}
        )
    except Conflict:
        message = _("The hand-over could not be recorded for this recipient.")
        return render_meeting(meeting_id, errors={"distribution": message}, status=409)
    return redirect(url_for("web.meeting", meeting_id=meeting_id, done="handed"), 303)
