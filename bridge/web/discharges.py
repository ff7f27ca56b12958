"""The discharge page: a stay, and its follow-up plan as a checklist with deadlines, where the
nurse adds, re-dates, completes or cancels tasks (bridge.domain.care.follow_ups)."""

from __future__ import annotations

from datetime import time

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bridge.domain.base import utcnow
from bridge.domain.care import admissions as admissions_service
from bridge.domain.care import follow_ups
from bridge.domain.care.models import FollowUpStatus, FollowUpTask, ResponsibleKind
from bridge.domain.errors import RuleViolation
from bridge.domain.patients import services as patients
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.domain_texts import domain_text
from bridge.web.forms import FormError, at, date_field, text_field, time_field
from bridge.web.readmodels import organisation_names

PLAN_ROWS = 200
DEFAULT_DUE_TIME = time(15, 0)  # the end of a day shift, when a task due "that day" is late


def _render(
    admission_id: int, errors: dict[str, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    p = g.principal
    admission = admissions_service.get_admission(db.session(), p, admission_id)
    patient = patients.get_patient(db.session(), p, admission.patient_id)
    tasks = follow_ups.list_follow_ups(
        db.session(), p, admission_id=admission.id, cursor=None, limit=PLAN_ROWS
    ).items
    names = organisation_names(
        db.session(), [admission.department_id] + [t.responsible_organisation_id for t in tasks]
    )
    return render_template(
        "discharge.html",
        admission=admission,
        patient=patient,
        tasks=tasks,
        names=names,
        now=utcnow(),
        errors=errors or {},
        form=request.form,
    ), status


@bp.get("/admissions/<int:admission_id>")
@login_required
def admission(admission_id: int) -> ResponseReturnValue:
    """A stay, its discharge and its follow-up plan."""
    return _render(admission_id)


def _back(task: FollowUpTask) -> str:
    if task.admission_id:
        return url_for("web.admission", admission_id=task.admission_id) + f"#task-{task.id}"
    return url_for("web.patient", patient_id=task.patient_id)


def _task_error(task: FollowUpTask, message: str) -> ResponseReturnValue:
    """The stay's page again with the task's form showing ``message``; a task of no stay is
    edited on the patient's page, which its form returns to."""
    if task.admission_id is None:
        return redirect(_back(task), 303)
    return _render(task.admission_id, {f"task-{task.id}": message}, 422)


@bp.post("/admissions/<int:admission_id>/follow-ups")
@login_required
def follow_up_add(admission_id: int) -> ResponseReturnValue:
    """Add a task of the nurse's own to the plan."""
    p = g.principal
    admission = admissions_service.get_admission(db.session(), p, admission_id)
    try:
        title = text_field("title", 200, required=True)
        due = at(date_field("due_date"), time_field("due_time", DEFAULT_DUE_TIME))
    except FormError as exc:
        return _render(admission_id, {f"add-{exc.field}": exc.message}, 422)
    data = {
        "patient_id": admission.patient_id,
        "admission_id": admission.id,
        "title": title,
        "responsible_kind": ResponsibleKind.NURSE,
        "responsible_staff_id": p.staff_id,
        "due_at": due,
    }
    try:
        follow_ups.add_follow_up(db.session(), p, data)
    except RuleViolation as exc:
        return _render(admission_id, {"add-title": domain_text(exc)}, 422)
    return redirect(url_for("web.admission", admission_id=admission_id), 303)


@bp.post("/follow-ups/<int:task_id>/complete")
@login_required
def follow_up_complete(task_id: int) -> ResponseReturnValue:
    """Tick a task off, with an optional note."""
    note = request.form.get("note", "").strip()[:1000] or None
    task = follow_ups.complete_follow_up(db.session(), g.principal, task_id, note)
    return redirect(_back(task), 303)


@bp.post("/follow-ups/<int:task_id>/redate")
@login_required
def follow_up_redate(task_id: int) -> ResponseReturnValue:
    """Move a task's deadline."""
    task = follow_ups.editable_follow_up(db.session(), g.principal, task_id)
    try:
        due = at(date_field("due_date"), time_field("due_time", DEFAULT_DUE_TIME))
    except FormError as exc:
        return _task_error(task, exc.message)
    follow_ups.update_follow_up(db.session(), g.principal, task, {"due_at": due})
    return redirect(_back(task), 303)


@bp.post("/follow-ups/<int:task_id>/cancel")
@login_required
def follow_up_cancel(task_id: int) -> ResponseReturnValue:
    """Cancel a task; the reason is required and kept."""
    task = follow_ups.editable_follow_up(db.session(), g.principal, task_id)
    try:
        reason = text_field("reason", 500, required=True)
    except FormError as exc:
        return _task_error(task, exc.message)
    follow_ups.update_follow_up(
        db.session(),
        g.principal,
        task,
        {"status": FollowUpStatus.CANCELLED, "cancel_reason": reason},
    )
    return redirect(_back(task), 303)
