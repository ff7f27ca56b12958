"""Follow-up after discharge: plan the tasks from the templates, add, change and complete them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import (
    Principal,
    built_per_caller,
    patient_visible,
    sole_organisation_sight,
)
from bridge.domain.audit import AuditAction
from bridge.domain.base import get_existing, read_by_id, utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.care import notify, rules
from bridge.domain.care.access import COORDINATORS, _forbid
from bridge.domain.care.models import (
    Admission,
    FollowUpRecord,
    FollowUpStatus,
    FollowUpTask,
    FollowUpTemplate,
    ResponsibleKind,
)
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.pagination import Page, SortKey, given_filters, paginate
from bridge.domain.patients.models import CareTeamMember, CareTeamRole, Enrollment, Patient
from bridge.domain.patients.services import read_patient_scoped, write_patient_scoped
from bridge.domain.registry.models import (
    BridgeNurse,
    Organisation,
    Staff,
)
from bridge.domain.registry.region_rules import calendar_for

# --- follow-up plans ----------------------------------------------------------------------------


def plan_follow_up(session: Session, p: Principal, admission: Admission) -> list[FollowUpTask]:
    """Make the tasks the nurse's region agreed for this kind of discharge.

    Only for a patient in an active course; the templates are those of the nurse's region.
    Title and deadline are copied, so later template changes leave this plan alone.
    """
    assert admission.discharged_at is not None and admission.destination is not None
    if not rules.generates_follow_up(admission.destination):
        return []
    course = session.execute(
        select(Enrollment.nurse_id, BridgeNurse.region_id)
        .join(BridgeNurse, BridgeNurse.staff_id == Enrollment.nurse_id)
        .where(Enrollment.patient_id == admission.patient_id, Enrollment.end_date.is_(None))
    ).first()
    if course is None:
        return []
    nurse_id, region_id = course
    templates = session.scalars(
        select(FollowUpTemplate)
        .where(
            FollowUpTemplate.region_id == region_id,
            FollowUpTemplate.applies_to == admission.specialty,
            FollowUpTemplate.active.is_(True),
        )
        .order_by(FollowUpTemplate.id)
    ).all()
    chosen = [
        t
        for t in templates
        if rules.condition_met(
            t.condition,
            destination=admission.destination,
            rehabilitation_plan_issued=admission.rehabilitation_plan_issued,
            network_meeting_requested=admission.network_meeting_requested,
        )
    ]
    if not chosen:
        return []
    patient = get_existing(session, Patient, admission.patient_id)
    # Working days are those of the patient's region on the day of discharge (its closed days).
    calendar = calendar_for(
        session,
        patient.municipality_id,
        admission.discharged_at.astimezone(COPENHAGEN).date(),
    )
    psychiatrist_id = None
    if any(t.responsible_kind == ResponsibleKind.PRACTISING_PSYCHIATRIST for t in chosen):
        psychiatrist_id = session.scalar(
            select(CareTeamMember.organisation_id)
            .where(
                CareTeamMember.patient_id == admission.patient_id,
                CareTeamMember.role == CareTeamRole.PRACTISING_PSYCHIATRIST,
            )
            .order_by(CareTeamMember.id)
            .limit(1)
        )
    responsible = {
        ResponsibleKind.NURSE: region_id,
        ResponsibleKind.MUNICIPALITY: patient.municipality_id,
        # None when the patient is listed with no practice: the task still exists, and the
        # gap jobs flag its missing owner.
        ResponsibleKind.GP: patient.gp_practice_id,
        ResponsibleKind.HOSPITAL: admission.department_id,
        ResponsibleKind.PRACTISING_PSYCHIATRIST: psychiatrist_id,
    }
    tasks = [
        FollowUpTask(
            patient_id=admission.patient_id,
            admission_id=admission.id,
            template_id=t.id,
            title=t.title,
            responsible_kind=t.responsible_kind,
            responsible_organisation_id=responsible[t.responsible_kind],
            responsible_staff_id=nurse_id if t.responsible_kind == ResponsibleKind.NURSE else None,
            due_at=rules.task_deadline(
                admission.discharged_at,
                working_days=t.deadline_working_days,
                hours=t.deadline_hours,
                calendar=calendar,
            ),
            status=FollowUpStatus.OPEN,
            created_by_id=p.staff_id,
        )
        for t in chosen
    ]
    session.add_all(tasks)
    session.flush()
    return tasks


# The list's optional filters, each with its value bound: a caller's statement for one
# combination of filters is built once (``_follow_up_list``) and its values given per request.
_FOLLOW_UP_FILTERS: dict[str, ColumnElement[bool]] = {
    "responsible": FollowUpTask.responsible_organisation_id == bindparam("responsible"),
    "status": FollowUpTask.status == bindparam("status"),
    "due_before": FollowUpTask.due_at < bindparam("due_before"),
    "patient_id": FollowUpTask.patient_id == bindparam("patient_id"),
    "admission_id": FollowUpTask.admission_id == bindparam("admission_id"),
}
# Each task's copy of its patient's municipality and GP practice (see FollowUpTask).
_HOME_COPY = {
    "residence": FollowUpTask.patient_municipality_id,
    "listing": FollowUpTask.patient_gp_practice_id,
}
_FOLLOW_UP_ORDER = [SortKey(FollowUpTask.due_at, "due_at"), SortKey(FollowUpTask.id, "id")]


@built_per_caller
def _follow_up_list(p: Principal, filters: tuple[str, ...]) -> Select[Any]:
    chosen = [_FOLLOW_UP_FILTERS[f] for f in filters]
    sight = sole_organisation_sight(p)
    if sight is None:
        stmt = select(*FollowUpRecord.columns()).join(
            Patient, Patient.id == FollowUpTask.patient_id
        )
        return stmt.where(patient_visible(p), *chosen)
    # A municipality's or a GP's list walks its own index (the task's copy of the patient's
    # municipality or practice) in deadline order, and the visibility rule still decides, on
    # each task's patient. As a boolean subquery, not a join: joined, PostgreSQL took the two
    # conditions for independent, expected a page to need every task of the municipality, and
    # fetched and sorted all of them (1,800 rows for a page at 1,000,000 patients).
    kind, organisation_id = sight
    sees_patient = (
        select(patient_visible(p))
        .where(Patient.id == FollowUpTask.patient_id)
        .correlate(FollowUpTask)
        .scalar_subquery()
    )
    return select(*FollowUpRecord.columns()).where(
        _HOME_COPY[kind] == organisation_id, sees_patient, *chosen
    )


def list_follow_ups(
    session: Session,
    p: Principal,
    *,
    responsible: int | None = None,
    status: FollowUpStatus | None = None,
    due_before: datetime | None = None,
    patient_id: int | None = None,
    admission_id: int | None = None,
    cursor: str | None,
    limit: int,
) -> Page[FollowUpRecord]:
    """Tasks of the patients the caller may see, by deadline (``admission_id``: one stay's plan)."""
    params = given_filters(
        responsible=responsible,
        status=status,
        due_before=due_before,
        patient_id=patient_id,
        admission_id=admission_id,
    )
    stmt = _follow_up_list(p, tuple(params))
    page = paginate(session, stmt, _FOLLOW_UP_ORDER, cursor=cursor, limit=limit, params=params)
    tasks = [FollowUpRecord(*row) for row in page.items]
    for task in tasks:
        audit.record(session, p, AuditAction.LISTED, "follow_up", task.id, task.patient_id)
    return Page(items=tasks, next_cursor=page.next_cursor)


def get_follow_up(
    session: Session, p: Principal, task_id: int, action: str = AuditAction.READ
) -> FollowUpTask:
    """One task of a patient the caller may see."""
    task = read_by_id(session, FollowUpTask, task_id)
    if task is None:
        audit.record(session, p, action, "follow_up", task_id, None, audit.AuditOutcome.NOT_FOUND)
        raise NotFound("no such follow-up task")
    read_patient_scoped(session, p, task.patient_id, "follow_up", action, task.id)
    return task


def _check_responsible(session: Session, data: dict[str, Any]) -> None:
    org_id = data.get("responsible_organisation_id")
    if org_id is not None and session.get(Organisation, org_id) is None:
        raise RuleViolation("no such organisation", field="responsible_organisation_id")
    staff_id = data.get("responsible_staff_id")
    if staff_id is not None and session.get(Staff, staff_id) is None:
        raise RuleViolation("no such staff member", field="responsible_staff_id")


def add_follow_up(session: Session, p: Principal, data: dict[str, Any]) -> FollowUpTask:
    """The nurse adds a task of her own choosing to a patient's plan."""
    write_patient_scoped(
        session, p, data["patient_id"], "follow_up", AuditAction.CREATE, COORDINATORS
    )
    admission_id = data.get("admission_id")
    if admission_id is not None:
        admission = session.get(Admission, admission_id)
        if admission is None or admission.patient_id != data["patient_id"]:
            raise RuleViolation(
                "admission_id must name a stay of this patient", field="admission_id"
            )
    _check_responsible(session, data)
    task = FollowUpTask(**data, status=FollowUpStatus.OPEN, created_by_id=p.staff_id)
    session.add(task)
    session.flush()
    notify.notify_tasks_assigned(session, [task])
    return task


def editable_follow_up(session: Session, p: Principal, task_id: int) -> FollowUpTask:
    """A task the caller may change: visible (else 404) and the caller a coordinator (403)."""
    task = get_follow_up(session, p, task_id, AuditAction.UPDATE)
    if not p.has(*COORDINATORS):
        raise _forbid(session, "only the nurse or an admin may change a task")
    return task


def update_follow_up(
    session: Session,
    p: Principal,
    task: FollowUpTask,
    data: dict[str, Any],
    now: datetime | None = None,
) -> FollowUpTask:
    """Reassign, re-date or cancel (with a reason) an open task (from ``editable_follow_up``)."""
    if task.status != FollowUpStatus.OPEN:
        raise Conflict(f"the task is {task.status.value} and can no longer change", allowed=[])
    data = dict(data)
    cancel = data.pop("status", None) == FollowUpStatus.CANCELLED
    reason = data.pop("cancel_reason", None)
    if reason and not cancel:
        raise RuleViolation("a reason is given only when cancelling", field="cancel_reason")
    if cancel and not reason:
        raise RuleViolation("cancelling a task needs a reason", field="cancel_reason")
    _check_responsible(session, data)
    for key, value in data.items():
        setattr(task, key, value)
    if cancel:
        task.status = FollowUpStatus.CANCELLED
        task.cancel_reason = reason
        task.cancelled_by_id = p.staff_id
        task.cancelled_at = now or utcnow()
    session.flush()
    if "responsible_organisation_id" in data:
        # A new owner hears of its task (idempotent per task and owner, so no-ops send nothing).
        notify.notify_tasks_assigned(session, [task])
    return task


def complete_follow_up(
    session: Session,
    p: Principal,
    task_id: int,
    note: str | None,
    now: datetime | None = None,
) -> FollowUpTask:
    """Mark a task done: the nurse, or the responsible organisation for its own tasks only."""
    task = get_follow_up(session, p, task_id, AuditAction.UPDATE)
    own = task.responsible_organisation_id is not None and task.responsible_organisation_id in {
        p.organisation_id,
        p.municipality_id,
    }
    if not (p.has(*COORDINATORS) or own):
        raise _forbid(session, "only the responsible organisation may complete this task")
    if task.status != FollowUpStatus.OPEN:
        raise Conflict(f"the task is already {task.status.value}", allowed=[])
    task.status = FollowUpStatus.DONE
    task.done_by_id = p.staff_id
    task.done_at = now or utcnow()
    task.done_note = note
    session.flush()
    return task
