"""Admissions and discharges: register them (by the hospital or the nurse), read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal, patient_visible
from bridge.domain.audit import AuditAction
from bridge.domain.base import read_by_id, utcnow
from bridge.domain.care import notify, rules
from bridge.domain.care.access import ADMISSION_WRITERS, COORDINATORS, _forbid
from bridge.domain.care.follow_ups import plan_follow_up
from bridge.domain.care.models import (
    Admission,
    Destination,
)
from bridge.domain.care.queries import READMISSION_DAYS, patient_admission_flags
from bridge.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from bridge.domain.identifiers import parse_cpr
from bridge.domain.patients.models import Enrollment, Patient
from bridge.domain.patients.services import (
    check_patient_sight,
    read_patient_scoped,
    write_patient_scoped,
)
from bridge.domain.registry.models import (
    Organisation,
    OrganisationKind,
    Role,
)


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
    admission = read_by_id(session, Admission, admission_id)
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
    check_patient_sight(session, p, patient_id, "admission", AuditAction.LIST)
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
