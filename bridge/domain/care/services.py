"""Use cases: register admissions and discharges, plan and work follow-up, statutory plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bridge.domain import audit
from bridge.domain.access import Principal, patient_visible
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.care import notify, rules
from bridge.domain.care.models import (
    Admission,
    Destination,
    FollowUpStatus,
    FollowUpTask,
    FollowUpTemplate,
    PlanEffort,
    ResponsibleKind,
    StatutoryPlan,
    StatutoryPlanParticipant,
)
from bridge.domain.care.queries import READMISSION_DAYS, patient_admission_flags
from bridge.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from bridge.domain.identifiers import parse_cpr
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.patients.models import CareTeamMember, CareTeamRole, Enrollment, Patient
from bridge.domain.patients.services import read_patient_scoped, write_patient_scoped
from bridge.domain.registry.models import (
    BridgeNurse,
    Organisation,
    OrganisationKind,
    Role,
    Staff,
)
from bridge.domain.registry.region_rules import calendar_for

COORDINATORS = (Role.ADMIN, Role.NURSE)
ADMISSION_WRITERS = (Role.ADMIN, Role.NURSE, Role.HOSPITAL)


def _forbid(session: Session, detail: str) -> Forbidden:
    """Mark the audit note just taken as refused, and build the error to raise."""
    audit.mark_last(session, audit.AuditOutcome.FORBIDDEN)
    return Forbidden(detail)


def _department(session: Session, department_id: int) -> Organisation:
    org = session.get(Organisation, department_id)
    if org is None or org.kind != OrganisationKind.HOSPITAL_DEPARTMENT:
        raise RuleViolation("department_id must name a hospital department", field="department_id")
    return org


def _mark_flags(session: Session, patient_id: int, admissions: list[Admission]) -> None:
    """Set the dual-admission and readmission flags (one query, whatever the history)."""
    flags = patient_admission_flags(session, patient_id, READMISSION_DAYS)
    for admission in admissions:
        admission.dual_admission = admission.id in flags.dual_admission
        admission.readmission = admission.id in flags.readmission


# --- admissions ---------------------------------------------------------------------------------


def register_admission(
    session: Session, p: Principal, data: dict[str, Any], now: datetime | None = None
) -> Admission:
    """Register a stay: hospital staff for their own department, or the nurse."""
    now = now or utcnow()
    patient_id = _admitted_patient(session, p, data)
    department = _department(session, data["department_id"])
    rules.check_not_future(data["admitted_at"], now, "admitted_at")
    open_stay = session.scalar(
        select(Admission.id).where(
            Admission.patient_id == patient_id,
            Admission.department_id == department.id,
            Admission.discharged_at.is_(None),
        )
    )
    if open_stay is not None:
        raise Conflict(
            "the patient already has an open admission in this department",
            admission_id=open_stay,
        )
    admission = Admission(
        patient_id=patient_id,
        department_id=department.id,
        specialty=department.specialty,
        acute=data["acute"],
        admitted_at=data["admitted_at"],
        registered_by_id=p.staff_id,
    )
    session.add(admission)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("the patient already has an open admission in this department") from None
    _mark_flags(session, patient_id, [admission])
    return admission


def _admitted_patient(session: Session, p: Principal, data: dict[str, Any]) -> int:
    """The patient an admission is for, checked and noted in their access log.

    A caller names by internal id only a patient she may already see. A hospital department
    admitting someone it does not yet see names the person in front of it by full CPR number
    (in the body, never a URL); admitting is then what gives it sight, for the stay and the
    treatment period after it.
    """
    if (data.get("patient_id") is None) == (data.get("cpr") is None):
        raise RuleViolation("give either patient_id or cpr", field="patient_id")
    hospital_only = p.has(Role.HOSPITAL) and not p.has(*COORDINATORS)
    if hospital_only and data["department_id"] != p.organisation_id:
        audit.record(
            session,
            p,
            AuditAction.CREATE,
            "admission",
            None,
            data.get("patient_id"),
            audit.AuditOutcome.FORBIDDEN,
        )
        raise Forbidden("hospital staff register admissions to their own department")
    if data.get("cpr") is None:
        write_patient_scoped(
            session, p, data["patient_id"], "admission", AuditAction.CREATE, ADMISSION_WRITERS
        )
        return data["patient_id"]
    try:
        digits = parse_cpr(data["cpr"]).digits
    except ValueError as exc:
        raise RuleViolation(str(exc), field="cpr") from None
    stmt = select(Patient.id).where(Patient.cpr == digits)
    if not hospital_only:
        stmt = stmt.where(patient_visible(p))
    patient_id = session.scalar(stmt)
    if patient_id is None:
        audit.record(
            session, p, AuditAction.CREATE, "admission", None, None, audit.AuditOutcome.NOT_FOUND
        )
        raise NotFound("no patient with that CPR number")
    if hospital_only:
        audit.record(session, p, AuditAction.CREATE, "admission", None, patient_id)
        return patient_id
    write_patient_scoped(session, p, patient_id, "admission", AuditAction.CREATE, ADMISSION_WRITERS)
    return patient_id


def _visible_admission(session: Session, p: Principal, admission_id: int, action: str) -> Admission:
    """One stay of a patient the caller may see (audited), without its flags."""
    admission = session.get(Admission, admission_id)
    if admission is None:
        audit.record(
            session, p, action, "admission", admission_id, None, audit.AuditOutcome.NOT_FOUND
        )
        raise NotFound("no such admission")
    read_patient_scoped(session, p, admission.patient_id, "admission", action, admission.id)
    return admission


def get_admission(
    session: Session, p: Principal, admission_id: int, action: str = AuditAction.READ
) -> Admission:
    """One stay of a patient the caller may see, with its flags."""
    admission = _visible_admission(session, p, admission_id, action)
    _mark_flags(session, admission.patient_id, [admission])
    return admission


def list_patient_admissions(session: Session, p: Principal, patient_id: int) -> list[Admission]:
    """The patient's stays, newest first, with dual-admission and readmission flags."""
    read_patient_scoped(session, p, patient_id, "admission", AuditAction.LIST)
    admissions = list(
        session.scalars(
            select(Admission)
            .where(Admission.patient_id == patient_id)
            .order_by(Admission.admitted_at.desc(), Admission.id.desc())
        )
    )
    _mark_flags(session, patient_id, admissions)
    return admissions


def discharge(
    session: Session,
    p: Principal,
    admission_id: int,
    data: dict[str, Any],
    now: datetime | None = None,
) -> Admission:
    """Register the discharge; an enrolled patient gets a follow-up plan from the templates."""
    now = now or utcnow()
    # Its flags are set once the discharge is in: the end of the stay can change them.
    admission = _visible_admission(session, p, admission_id, AuditAction.UPDATE)
    if not p.has(*ADMISSION_WRITERS):
        raise _forbid(session, "your role may not register discharges")
    if not p.has(*COORDINATORS) and admission.department_id != p.organisation_id:
        raise _forbid(session, "hospital staff discharge from their own department only")
    if admission.discharged_at is not None:
        raise Conflict("the stay is already discharged")
    rules.check_discharge_time(admission.admitted_at, data["discharged_at"])
    rules.check_not_future(data["discharged_at"], now, "discharged_at")
    admission.discharged_at = data["discharged_at"]
    admission.destination = data["destination"]
    admission.discharge_summary = data.get("discharge_summary")
    admission.rehabilitation_plan_issued = data.get("rehabilitation_plan_issued", False)
    admission.network_meeting_requested = data.get("network_meeting_requested", False)
    admission.discharged_by_id = p.staff_id
    session.flush()
    tasks = plan_follow_up(session, p, admission)
    if admission.destination != Destination.DECEASED and _enrolled(session, admission.patient_id):
        # Same transaction as the discharge: the GP is never left out of a committed discharge.
        notify.notify_discharge(session, admission, tasks)
    _mark_flags(session, admission.patient_id, [admission])
    return admission


def _enrolled(session: Session, patient_id: int) -> bool:
    return (
        session.scalar(
            select(Enrollment.id).where(
                Enrollment.patient_id == patient_id, Enrollment.end_date.is_(None)
            )
        )
        is not None
    )


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
    patient = session.get(Patient, admission.patient_id)
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
) -> Page[FollowUpTask]:
    """Tasks of the patients the caller may see, by deadline (``admission_id``: one stay's plan)."""
    stmt = select(FollowUpTask).join(Patient, Patient.id == FollowUpTask.patient_id)
    stmt = stmt.where(patient_visible(p))
    if responsible is not None:
        stmt = stmt.where(FollowUpTask.responsible_organisation_id == responsible)
    if status is not None:
        stmt = stmt.where(FollowUpTask.status == status)
    if due_before is not None:
        stmt = stmt.where(FollowUpTask.due_at < due_before)
    if patient_id is not None:
        stmt = stmt.where(FollowUpTask.patient_id == patient_id)
    if admission_id is not None:
        stmt = stmt.where(FollowUpTask.admission_id == admission_id)
    page = paginate(
        session,
        stmt,
        [SortKey(FollowUpTask.due_at, "due_at"), SortKey(FollowUpTask.id, "id")],
        cursor=cursor,
        limit=limit,
    )
    for task in page.items:
        audit.record(session, p, AuditAction.LISTED, "follow_up", task.id, task.patient_id)
    return page


def get_follow_up(
    session: Session, p: Principal, task_id: int, action: str = AuditAction.READ
) -> FollowUpTask:
    """One task of a patient the caller may see."""
    task = session.get(FollowUpTask, task_id)
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


# --- statutory plans ------------------------------------------------------------------------------


def _plans_query():
    return select(StatutoryPlan).options(
        selectinload(StatutoryPlan.participants), selectinload(StatutoryPlan.efforts)
    )


def add_statutory_plan(
    session: Session, p: Principal, admission_id: int, data: dict[str, Any]
) -> StatutoryPlan:
    """Record an udskrivningsaftale, koordinationsplan or KIP for a psychiatric stay."""
    admission = _visible_admission(session, p, admission_id, AuditAction.CREATE)
    if not p.has(*ADMISSION_WRITERS):
        raise _forbid(session, "your role may not record statutory plans")
    if not p.has(*COORDINATORS) and admission.department_id != p.organisation_id:
        raise _forbid(session, "hospital staff record plans for their own department's stays")
    efforts = data.get("efforts", [])
    participants = sorted(set(data.get("participant_ids", [])))
    agreed_on = data.get("agreed_on") or today_in_copenhagen()
    rules.check_statutory_plan(
        kind=data["kind"],
        specialty=admission.specialty,
        patient_took_part=data["patient_took_part"],
        agreed_on=agreed_on,
        next_review_date=data.get("next_review_date"),
        efforts=len(efforts),
    )
    wanted = set(participants) | {e["responsible_organisation_id"] for e in efforts}
    found = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(wanted))))
    if wanted - found:
        raise RuleViolation(
            f"no such organisation(s): {sorted(wanted - found)}", field="participant_ids"
        )
    plan = StatutoryPlan(
        admission_id=admission.id,
        kind=data["kind"],
        agreed_on=agreed_on,
        patient_took_part=data["patient_took_part"],
        goals=data.get("goals"),
        next_review_date=data.get("next_review_date"),
        created_by_id=p.staff_id,
        participants=[StatutoryPlanParticipant(organisation_id=o) for o in participants],
        efforts=[PlanEffort(**e) for e in efforts],
    )
    session.add(plan)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"the stay already has a {data['kind'].value}") from None
    return plan


def list_statutory_plans(session: Session, p: Principal, admission_id: int) -> list[StatutoryPlan]:
    """The plans recorded for a stay."""
    admission = _visible_admission(session, p, admission_id, AuditAction.LIST)
    return list(
        session.scalars(
            _plans_query()
            .where(StatutoryPlan.admission_id == admission.id)
            .order_by(StatutoryPlan.id)
        )
    )


def get_statutory_plan(
    session: Session, p: Principal, admission_id: int, plan_id: int
) -> StatutoryPlan:
    """One plan of a stay."""
    admission = _visible_admission(session, p, admission_id, AuditAction.READ)
    plan = session.scalar(
        _plans_query().where(
            StatutoryPlan.id == plan_id, StatutoryPlan.admission_id == admission.id
        )
    )
    if plan is None:
        raise NotFound("no such statutory plan")
    return plan


def today_in_copenhagen(now: datetime | None = None) -> date:
    """The Copenhagen calendar date of ``now``."""
    return (now or utcnow()).astimezone(COPENHAGEN).date()


# --- worklist reads (the web pages' Today and caseload) -------------------------------------------


@dataclass(frozen=True)
class PlanStatus:
    """How far a discharge's follow-up plan has got."""

    open: int = 0
    overdue: int = 0
    done: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.open + self.done + self.cancelled


def list_recent_discharges(
    session: Session, p: Principal, *, since: datetime, now: datetime, limit: int = 50
) -> list[tuple[Admission, PlanStatus]]:
    """Stays of visible patients discharged since ``since``, newest first, with plan status."""
    admissions = list(
        session.scalars(
            select(Admission)
            .join(Patient, Patient.id == Admission.patient_id)
            .where(patient_visible(p), Admission.discharged_at >= since)
            .order_by(Admission.discharged_at.desc(), Admission.id.desc())
            .limit(limit)
        )
    )
    status = plan_status(session, [a.id for a in admissions], now)
    for a in admissions:
        audit.record(session, p, AuditAction.LISTED, "admission", a.id, a.patient_id)
    return [(a, status.get(a.id, PlanStatus())) for a in admissions]


def plan_status(session: Session, admission_ids: list[int], now: datetime) -> dict[int, PlanStatus]:
    """Task counts per stay, in one query (the caller has checked access to the stays)."""
    if not admission_ids:
        return {}
    overdue = case(
        (and_(FollowUpTask.status == FollowUpStatus.OPEN, FollowUpTask.due_at < now), 1), else_=0
    )
    rows = session.execute(
        select(FollowUpTask.admission_id, FollowUpTask.status, func.count(), func.sum(overdue))
        .where(FollowUpTask.admission_id.in_(admission_ids))
        .group_by(FollowUpTask.admission_id, FollowUpTask.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for admission_id, status, n, late in rows:
        c = counts.setdefault(admission_id, {})
        c[FollowUpStatus(status).value] = n
        c["overdue"] = c.get("overdue", 0) + int(late or 0)
    return {
        a: PlanStatus(
            open=c.get("open", 0),
            overdue=c.get("overdue", 0),
            done=c.get("done", 0),
            cancelled=c.get("cancelled", 0),
        )
        for a, c in counts.items()
    }


def next_deadlines(session: Session, p: Principal, patient_ids: list[int]) -> dict[int, datetime]:
    """The earliest open task deadline of each visible patient among ``patient_ids`` (one query)."""
    if not patient_ids:
        return {}
    rows = session.execute(
        select(FollowUpTask.patient_id, func.min(FollowUpTask.due_at))
        .join(Patient, Patient.id == FollowUpTask.patient_id)
        .where(
            FollowUpTask.patient_id.in_(patient_ids),
            FollowUpTask.status == FollowUpStatus.OPEN,
            patient_visible(p),
        )
        .group_by(FollowUpTask.patient_id)
    )
    return {pid: _aware(due) for pid, due in rows}


def _aware(value: datetime) -> datetime:
    # An aggregate is not passed through the UTCDateTime column type on every backend.
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
