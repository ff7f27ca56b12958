"""Use cases on patients and what belongs to them. Every one goes through access control and
leaves an audit note."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import (
    Principal,
    built_per_caller,
    get_visible_patient,
    is_enrolled_nurse,
    patient_visible,
    sees_patient,
    visible_patient_record,
)
from bridge.domain.audit import AuditAction, AuditEvent
from bridge.domain.errors import Forbidden, NotFound, RuleViolation
from bridge.domain.identifiers import parse_cpr
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.patients.models import Patient, PatientRecord
from bridge.domain.registry.effective import copenhagen_today, region_of, require_open
from bridge.domain.registry.models import Organisation, OrganisationKind, Role, Staff

CLINICAL_WRITERS = (Role.ADMIN, Role.NURSE)

T = TypeVar("T")


# --- patients ---------------------------------------------------------------------------------


def _org_of_kind(session: Session, org_id: int, kind: OrganisationKind, field: str) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or org.kind != kind:
        raise RuleViolation(f"{field} must name a {kind.value.replace('_', ' ')}", field=field)
    return org


def check_patient_organisations(session: Session, data: dict[str, Any]) -> None:
    """The municipality and GP practice a patient's data names are of those kinds."""
    if "municipality_id" in data:
        _org_of_kind(
            session, data["municipality_id"], OrganisationKind.MUNICIPALITY, "municipality_id"
        )
    if data.get("gp_practice_id") is not None:
        practice = _org_of_kind(
            session, data["gp_practice_id"], OrganisationKind.GP_PRACTICE, "gp_practice_id"
        )
        # Minutes and tasks would go to a dead address: the patient must choose a new practice.
        require_open(practice, copenhagen_today(), "gp_practice_id")


def get_patient(session: Session, p: Principal, patient_id: int) -> Patient:
    """One patient the caller may see, as an entity (a page that reads on from it)."""
    return read_patient_scoped(session, p, patient_id, "patient")


def read_patient(session: Session, p: Principal, patient_id: int) -> PatientRecord:
    """One patient the caller may see, as the API's read shows it, noted as
    ``read_patient_scoped`` notes it."""
    record = visible_patient_record(session, p, patient_id)
    return _noted(session, p, AuditAction.READ, "patient", patient_id, patient_id, record)


def check_patient_sight(
    session: Session,
    p: Principal,
    patient_id: int,
    resource_type: str,
    action: str = AuditAction.READ,
) -> None:
    """``read_patient_scoped`` for a read of the patient's records that needs the caller's sight
    of the patient but not the patient: NotFound when hidden, the access noted either way."""
    seen = patient_id if sees_patient(session, p, patient_id) else None
    _noted(session, p, action, resource_type, patient_id, patient_id, seen)


def _noted(
    session: Session,
    p: Principal,
    action: str,
    resource_type: str,
    resource_id: object,
    patient_id: int,
    found: T | None,
) -> T:
    """Note a read of the patient, found or not (None), and answer it: every patient-scoped
    read leaves its trace in the access log before it answers, refusals included."""
    outcome = audit.AuditOutcome.OK if found is not None else audit.AuditOutcome.NOT_FOUND
    audit.record(session, p, action, resource_type, resource_id, patient_id, outcome)
    if found is None:
        raise NotFound("no such patient")
    return found


def patient_region(
    session: Session, p: Principal, patient_id: int, on: date | None
) -> Organisation:
    """The region of the patient's municipality on a date (default today): Region Østdanmark
    from 2027 for a citizen of Hovedstaden or Sjælland."""
    patient = get_patient(session, p, patient_id)
    region = region_of(session, patient.municipality_id, on or copenhagen_today())
    if region is None:
        raise NotFound("the patient's municipality belongs to no region that day")
    return region


def read_patient_scoped(
    session: Session,
    p: Principal,
    patient_id: int,
    resource_type: str,
    action: str = AuditAction.READ,
    resource_id: object | None = None,
) -> Patient:
    """Check that the caller may see the patient and note the access, whatever the outcome."""
    try:
        patient: Patient | None = get_visible_patient(session, p, patient_id)
    except NotFound:
        patient = None
    return _noted(session, p, action, resource_type, resource_id or patient_id, patient_id, patient)


def write_patient_scoped(
    session: Session,
    p: Principal,
    patient_id: int,
    resource_type: str,
    action: str,
    roles: tuple[str, ...] = CLINICAL_WRITERS,
) -> Patient:
    """Visibility first (404), then the role (403), noting the attempt either way."""
    patient = read_patient_scoped(session, p, patient_id, resource_type, action)
    if not p.has(*roles):
        audit.mark_last(session, audit.AuditOutcome.FORBIDDEN)
        raise Forbidden("your role may not change this patient's records")
    return patient


def update_patient(
    session: Session, p: Principal, patient: Patient, data: dict[str, Any]
) -> Patient:
    """Change a patient's name, municipality, GP or status."""
    check_patient_organisations(session, data)
    for key, value in data.items():
        setattr(patient, key, value)
    session.flush()
    return patient


_PATIENT_ORDER = [SortKey(Patient.id, "id")]


@built_per_caller
def _patient_list(p: Principal, by_name: bool) -> Select[Any]:
    stmt = select(*PatientRecord.columns()).where(patient_visible(p))
    if by_name:
        stmt = stmt.where(Patient.name.ilike(bindparam("name_pattern"), escape="\\"))
    return stmt


def list_patients(
    session: Session, p: Principal, *, cursor: str | None, limit: int, name: str | None = None
) -> Page[PatientRecord]:
    """The patients the caller may see, by id; optionally those whose name contains ``name``."""
    params = {"name_pattern": f"%{_escape_like(name)}%"} if name else {}
    stmt = _patient_list(p, bool(name))
    page = paginate(session, stmt, _PATIENT_ORDER, cursor=cursor, limit=limit, params=params)
    records = [PatientRecord(*row) for row in page.items]
    for patient in records:
        audit.record(session, p, AuditAction.LISTED, "patient", patient.id, patient.id)
    return Page(items=records, next_cursor=page.next_cursor)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_patient_by_cpr(session: Session, p: Principal, cpr: str) -> Patient:
    """Exact search by full CPR number (sent in a body, never in a URL)."""
    try:
        digits = parse_cpr(cpr).digits
    except ValueError as exc:
        raise RuleViolation(str(exc), field="cpr") from None
    patient = session.scalar(select(Patient).where(Patient.cpr == digits, patient_visible(p)))
    if patient is None:
        # The same answer whether the number is unknown or someone else's patient; the search
        # discloses nothing, so it is not rate-limited (registering is: see register_patient).
        audit.record(
            session, p, AuditAction.SEARCH, "patient", None, None, audit.AuditOutcome.NOT_FOUND
        )
        raise NotFound("no patient with that CPR number among those you may see")
    audit.record(session, p, AuditAction.SEARCH, "patient", patient.id, patient.id)
    return patient


# --- relatives, diagnoses, care team ------------------------------------------------------------


# --- enrollments ------------------------------------------------------------------------------


# --- consents ---------------------------------------------------------------------------------


# --- access log -------------------------------------------------------------------------------


def may_read_access_log(session: Session, p: Principal, patient_id: int) -> bool:
    """Whether the caller may read the patient's access log: an admin or the patient's nurse."""
    return p.has(Role.ADMIN) or is_enrolled_nurse(session, p, patient_id)


def access_log(
    session: Session,
    p: Principal,
    patient_id: int,
    *,
    cursor: str | None,
    limit: int,
    include_listed: bool = False,
) -> Page[AuditEvent]:
    """Who looked at the patient's data: for admins and the patient's own nurse.

    Appearances as a row of a working list (``listed``) are left out unless asked for: a nurse
    opens her caseload many times a day, and the log is read to see who opened the record.
    """
    read_patient_scoped(session, p, patient_id, "access_log", AuditAction.READ)
    if not may_read_access_log(session, p, patient_id):
        audit.mark_last(session, audit.AuditOutcome.FORBIDDEN)
        raise Forbidden("only an admin or the patient's nurse may read the access log")
    stmt = select(AuditEvent).where(AuditEvent.patient_id == patient_id)
    if not include_listed:
        stmt = stmt.where(AuditEvent.action != AuditAction.LISTED)
    return paginate(
        session, stmt, [SortKey(AuditEvent.id, "id", descending=True)], cursor=cursor, limit=limit
    )


def staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Names for a set of staff ids in one query (for showing an access log)."""
    if not ids:
        return {}
    return dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids))).all())


# --- care requests ------------------------------------------------------------------------------
