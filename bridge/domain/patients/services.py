"""Use cases on patients and what belongs to them. Every one goes through access control and
leaves an audit note."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import (
    Principal,
    access_settings,
    get_visible_patient,
    is_enrolled_nurse,
    patient_visible,
)
from bridge.domain.audit import AuditAction, AuditEvent
from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, Forbidden, NotFound, RuleViolation, TooManyRequests
from bridge.domain.identifiers import is_psychiatric, normalise_icd10, parse_cpr
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.patients.models import (
    CareRequest,
    CareRequestStatus,
    CareTeamMember,
    Consent,
    Diagnosis,
    Enrollment,
    Patient,
    Relative,
)
from bridge.domain.registry.effective import copenhagen_today, region_of, require_open
from bridge.domain.registry.models import BridgeNurse, Organisation, OrganisationKind, Role, Staff

CLINICAL_WRITERS = (Role.ADMIN, Role.NURSE)

#: fn(session, patient_id, now): called in the transaction that records a consent, so that what
#: waited for it (minutes blocked for lack of consent) goes out with it. Registered by the areas
#: that need it (meetings); patients know nothing of them.
ConsentHook = Callable[[Session, int, datetime], None]
_consent_hooks: list[ConsentHook] = []


def register_consent_hook(fn: ConsentHook) -> None:
    """Have ``fn`` called after every consent recorded (once per function)."""
    if fn not in _consent_hooks:
        _consent_hooks.append(fn)


def _org_of_kind(session: Session, org_id: int, kind: OrganisationKind, field: str) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or org.kind != kind:
        raise RuleViolation(f"{field} must name a {kind.value.replace('_', ' ')}", field=field)
    return org


def _check_patient_organisations(session: Session, data: dict[str, Any]) -> None:
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


# --- patients ---------------------------------------------------------------------------------


def register_patient(session: Session, p: Principal, data: dict[str, Any]) -> Patient | CareRequest:
    """Register a patient from their CPR number; birth date and sex come from the number.

    Whether a CPR number is in Bridge is itself health information, so a nurse who may not see
    the person learns it only through a deliberate, rate-limited act that the person's access
    log and current nurse see: registering them becomes a request to join their care.
    """
    p.require(*CLINICAL_WRITERS)
    try:
        cpr = parse_cpr(data.pop("cpr"))
    except ValueError as exc:
        raise RuleViolation(str(exc), field="cpr") from None
    reason = data.pop("care_request_reason", None)
    _check_patient_organisations(session, data)
    if not p.has(Role.ADMIN):
        # Before the number is looked up, so the limit answers alike for known and unknown.
        _check_registration_rate(session, p)
    found = _patient_by_cpr(session, p, cpr.digits)
    if found is not None:
        return _existing_registration(session, p, *found, reason)
    patient = Patient(
        cpr=cpr.digits,
        birth_date=cpr.birth_date,
        sex=cpr.sex,
        registered_by_id=p.staff_id,
        **data,
    )
    try:
        with session.begin_nested():
            session.add(patient)
            session.flush()
    except IntegrityError:
        # Registered by someone else a moment ago: the same answer as had they been first.
        found = _patient_by_cpr(session, p, cpr.digits)
        if found is None:
            raise
        return _existing_registration(session, p, *found, reason)
    audit.record(session, p, AuditAction.CREATE, "patient", patient.id, patient.id)
    return patient


def _patient_by_cpr(session: Session, p: Principal, digits: str) -> tuple[int, bool] | None:
    """The id of the patient with this CPR number, and whether the caller may see them."""
    row = session.execute(
        select(Patient.id, patient_visible(p).label("visible")).where(Patient.cpr == digits)
    ).first()
    return None if row is None else (row[0], bool(row[1]))


def _existing_registration(
    session: Session, p: Principal, patient_id: int, visible: bool, reason: str | None
) -> CareRequest:
    if visible:
        # The caller already sees this patient: nothing is disclosed by saying so.
        audit.record(
            session,
            p,
            AuditAction.CREATE,
            "patient",
            patient_id,
            patient_id,
            audit.AuditOutcome.REJECTED,
        )
        raise Conflict(
            "a patient with this CPR number is already registered", patient_id=patient_id
        )
    return request_care(session, p, patient_id, reason)


def _check_registration_rate(session: Session, p: Principal) -> None:
    """Registrations and care requests of one staff member in 24 hours are limited."""
    since = utcnow() - timedelta(days=1)
    attempts = union_all(
        select(Patient.id).where(
            Patient.registered_by_id == p.staff_id, Patient.created_at >= since
        ),
        select(CareRequest.id).where(
            CareRequest.requested_by_id == p.staff_id, CareRequest.created_at >= since
        ),
    ).subquery()
    count = session.scalar(select(func.count()).select_from(attempts)) or 0
    if count >= access_settings().registrations_per_day:
        audit.record(
            session, p, AuditAction.CREATE, "patient", None, None, audit.AuditOutcome.REJECTED
        )
        raise TooManyRequests(
            "you have registered or asked for too many patients today; try again later",
            retry_after=3600,
        )


def get_patient(session: Session, p: Principal, patient_id: int) -> Patient:
    """One patient the caller may see."""
    return read_patient_scoped(session, p, patient_id, "patient")


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
        patient = get_visible_patient(session, p, patient_id)
    except NotFound:
        audit.record(
            session,
            p,
            action,
            resource_type,
            resource_id or patient_id,
            patient_id,
            audit.AuditOutcome.NOT_FOUND,
        )
        raise
    audit.record(session, p, action, resource_type, resource_id or patient_id, patient_id)
    return patient


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
    _check_patient_organisations(session, data)
    for key, value in data.items():
        setattr(patient, key, value)
    session.flush()
    return patient


def list_patients(
    session: Session, p: Principal, *, cursor: str | None, limit: int, name: str | None = None
) -> Page[Patient]:
    """The patients the caller may see, by id; optionally those whose name contains ``name``."""
    stmt = select(Patient).where(patient_visible(p))
    if name:
        stmt = stmt.where(Patient.name.ilike(f"%{_escape_like(name)}%", escape="\\"))
    page = paginate(session, stmt, [SortKey(Patient.id, "id")], cursor=cursor, limit=limit)
    for patient in page.items:
        audit.record(session, p, AuditAction.LISTED, "patient", patient.id, patient.id)
    return page


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


def add_relative(session: Session, p: Principal, patient_id: int, data: dict[str, Any]) -> Relative:
    """Record a relative (pårørende) of the patient."""
    write_patient_scoped(session, p, patient_id, "relative", AuditAction.CREATE)
    relative = Relative(patient_id=patient_id, **data)
    session.add(relative)
    session.flush()
    return relative


def list_relatives(session: Session, p: Principal, patient_id: int) -> list[Relative]:
    """The patient's relatives."""
    read_patient_scoped(session, p, patient_id, "relative", AuditAction.LIST)
    return list(
        session.scalars(
            select(Relative).where(Relative.patient_id == patient_id).order_by(Relative.id)
        )
    )


def add_diagnosis(
    session: Session, p: Principal, patient_id: int, data: dict[str, Any]
) -> Diagnosis:
    """Record an ICD-10 diagnosis; psychiatric (chapter F) or somatic follows from the code."""
    write_patient_scoped(
        session, p, patient_id, "diagnosis", AuditAction.CREATE, (*CLINICAL_WRITERS, Role.HOSPITAL)
    )
    try:
        code = normalise_icd10(data.pop("code"))
    except ValueError as exc:
        raise RuleViolation(str(exc), field="code") from None
    diagnosis = Diagnosis(
        patient_id=patient_id, code=code, psychiatric=is_psychiatric(code), **data
    )
    session.add(diagnosis)
    session.flush()
    return diagnosis


def list_diagnoses(session: Session, p: Principal, patient_id: int) -> list[Diagnosis]:
    """The patient's diagnoses."""
    read_patient_scoped(session, p, patient_id, "diagnosis", AuditAction.LIST)
    return list(
        session.scalars(
            select(Diagnosis).where(Diagnosis.patient_id == patient_id).order_by(Diagnosis.id)
        )
    )


def add_care_team_member(
    session: Session, p: Principal, patient_id: int, data: dict[str, Any]
) -> CareTeamMember:
    """Add an organisation (and contact person) to the patient's care team."""
    write_patient_scoped(session, p, patient_id, "care_team", AuditAction.CREATE)
    if session.get(Organisation, data["organisation_id"]) is None:
        raise RuleViolation("no such organisation", field="organisation_id")
    member = CareTeamMember(patient_id=patient_id, **data)
    session.add(member)
    session.flush()
    return member


def list_care_team(session: Session, p: Principal, patient_id: int) -> list[CareTeamMember]:
    """The patient's care team."""
    read_patient_scoped(session, p, patient_id, "care_team", AuditAction.LIST)
    return list(
        session.scalars(
            select(CareTeamMember)
            .where(CareTeamMember.patient_id == patient_id)
            .order_by(CareTeamMember.id)
        )
    )


# --- enrollments ------------------------------------------------------------------------------


def enroll_patient(
    session: Session, p: Principal, patient_id: int, data: dict[str, Any]
) -> Enrollment:
    """Start a bridge-nurse course; a patient has at most one active course."""
    write_patient_scoped(session, p, patient_id, "enrollment", AuditAction.CREATE)
    nurse_id = data.get("nurse_id") or p.staff_id
    nurse = session.get(BridgeNurse, nurse_id)
    if nurse is None or not nurse.active:
        raise RuleViolation("nurse_id must name an active bridge nurse", field="nurse_id")
    enrollment = Enrollment(
        patient_id=patient_id,
        nurse_id=nurse_id,
        start_date=data.get("start_date") or date.today(),
        reason=data["reason"],
        enrolled_by_id=p.staff_id,
    )
    session.add(enrollment)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("the patient already has an active enrollment") from None
    return enrollment


def list_enrollments(session: Session, p: Principal, patient_id: int) -> list[Enrollment]:
    """The patient's courses, newest first."""
    read_patient_scoped(session, p, patient_id, "enrollment", AuditAction.LIST)
    return list(
        session.scalars(
            select(Enrollment)
            .where(Enrollment.patient_id == patient_id)
            .order_by(Enrollment.start_date.desc(), Enrollment.id.desc())
        )
    )


def get_enrollment(
    session: Session, p: Principal, patient_id: int, enrollment_id: int
) -> Enrollment:
    """One course of the patient."""
    read_patient_scoped(session, p, patient_id, "enrollment", resource_id=enrollment_id)
    enrollment = session.scalar(
        select(Enrollment).where(
            Enrollment.id == enrollment_id, Enrollment.patient_id == patient_id
        )
    )
    if enrollment is None:
        raise NotFound("no such enrollment")
    return enrollment


def update_enrollment(
    session: Session, p: Principal, enrollment: Enrollment, data: dict[str, Any]
) -> Enrollment:
    """End a course, or hand it to another nurse."""
    write_patient_scoped(session, p, enrollment.patient_id, "enrollment", AuditAction.UPDATE)
    if enrollment.end_date is not None:
        raise Conflict("the enrollment has ended and can no longer change")
    if "nurse_id" in data:
        nurse = session.get(BridgeNurse, data["nurse_id"])
        if nurse is None or not nurse.active:
            raise RuleViolation("nurse_id must name an active bridge nurse", field="nurse_id")
    if data.get("end_date") is not None:
        if data["end_date"] < enrollment.start_date:
            raise RuleViolation("end_date is before start_date", field="end_date")
        if not data.get("end_reason"):
            raise RuleViolation("ending a course needs a reason", field="end_reason")
    for key, value in data.items():
        setattr(enrollment, key, value)
    session.flush()
    return enrollment


# --- consents ---------------------------------------------------------------------------------


def give_consent(session: Session, p: Principal, patient_id: int, data: dict[str, Any]) -> Consent:
    """Record the patient's consent to share with an organisation, or with a kind of them."""
    write_patient_scoped(session, p, patient_id, "consent", AuditAction.CREATE)
    has_org = data.get("recipient_organisation_id") is not None
    has_kind = data.get("recipient_kind") is not None
    if has_org == has_kind:
        raise RuleViolation(
            "give either recipient_organisation_id or recipient_kind", field="recipient_kind"
        )
    if has_org and session.get(Organisation, data["recipient_organisation_id"]) is None:
        raise RuleViolation("no such organisation", field="recipient_organisation_id")
    given_at = data.pop("given_at", None) or utcnow()
    if given_at > utcnow():
        raise RuleViolation("consent cannot be given in the future", field="given_at")
    consent = Consent(patient_id=patient_id, given_at=given_at, recorded_by_id=p.staff_id, **data)
    session.add(consent)
    session.flush()
    for hook in _consent_hooks:
        hook(session, patient_id, utcnow())
    return consent


def withdraw_consent(
    session: Session, p: Principal, patient_id: int, consent_id: int, withdrawn_at: datetime | None
) -> Consent:
    """Record that a consent was withdrawn; the row stays as history."""
    write_patient_scoped(session, p, patient_id, "consent", AuditAction.UPDATE)
    consent = session.scalar(
        select(Consent).where(Consent.id == consent_id, Consent.patient_id == patient_id)
    )
    if consent is None:
        raise NotFound("no such consent")
    if consent.withdrawn_at is not None:
        raise Conflict("the consent is already withdrawn")
    when = withdrawn_at or utcnow()
    if when < consent.given_at:
        raise RuleViolation(
            "a consent cannot be withdrawn before it was given", field="withdrawn_at"
        )
    consent.withdrawn_at = when
    consent.withdrawn_by_id = p.staff_id
    session.flush()
    return consent


def list_consents(session: Session, p: Principal, patient_id: int) -> list[Consent]:
    """Every consent the patient has given, withdrawn ones included."""
    read_patient_scoped(session, p, patient_id, "consent", AuditAction.LIST)
    return list(
        session.scalars(
            select(Consent).where(Consent.patient_id == patient_id).order_by(Consent.id)
        )
    )


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


def request_care(
    session: Session, p: Principal, patient_id: int, reason: str | None
) -> CareRequest:
    """Ask to join the care of a patient the caller may not see (from ``register_patient``).

    Written to the patient's access log; the patient's current nurse (or an admin) decides.
    A second request while one is pending is the same request.
    """
    care_request = session.scalar(
        select(CareRequest).where(
            CareRequest.patient_id == patient_id,
            CareRequest.requested_by_id == p.staff_id,
            CareRequest.status == CareRequestStatus.PENDING,
        )
    )
    if care_request is None:
        care_request = CareRequest(
            patient_id=patient_id,
            requested_by_id=p.staff_id,
            reason=reason or "registration of a person already in Bridge",
        )
        session.add(care_request)
        session.flush()
    audit.record(
        session,
        p,
        AuditAction.CREATE,
        "care_request",
        care_request.id,
        patient_id,
        basis="care_request",
    )
    care_request.patient_shown = False
    return care_request


def list_care_requests(
    session: Session, p: Principal, *, cursor: str | None, limit: int
) -> Page[CareRequest]:
    """The caller's own requests, and those about patients whose course she holds (an admin:
    all). A requester sees her patient's id only once she may see the patient."""
    stmt = select(CareRequest)
    if not p.has(Role.ADMIN):
        current = select(Enrollment.patient_id).where(
            Enrollment.nurse_id == p.staff_id, Enrollment.end_date.is_(None)
        )
        stmt = stmt.where(
            (CareRequest.requested_by_id == p.staff_id) | CareRequest.patient_id.in_(current)
        )
    page = paginate(
        session, stmt, [SortKey(CareRequest.id, "id", descending=True)], cursor=cursor, limit=limit
    )
    ids = {r.patient_id for r in page.items}
    shown = set(
        session.scalars(select(Patient.id).where(Patient.id.in_(ids), patient_visible(p)))
        if ids
        else ()
    )
    for r in page.items:
        r.patient_shown = r.patient_id in shown
        if r.patient_shown:
            audit.record(session, p, AuditAction.LIST, "care_request", r.id, r.patient_id)
    return page


def decide_care_request(
    session: Session, p: Principal, request_id: int, accept: bool, note: str | None
) -> CareRequest:
    """The patient's current nurse (or an admin) accepts or declines; accepting hands the
    course to the requester (or starts one with her when nobody holds it)."""
    care_request = session.get(CareRequest, request_id)
    if care_request is None or not (
        p.has(Role.ADMIN) or is_enrolled_nurse(session, p, care_request.patient_id)
    ):
        audit.record(
            session,
            p,
            AuditAction.UPDATE,
            "care_request",
            request_id,
            None,
            audit.AuditOutcome.NOT_FOUND,
        )
        if care_request is not None and care_request.requested_by_id == p.staff_id:
            raise Forbidden("the patient's nurse or an admin decides a care request")
        raise NotFound("no such care request")
    read_patient_scoped(
        session, p, care_request.patient_id, "care_request", AuditAction.UPDATE, request_id
    )
    if care_request.status != CareRequestStatus.PENDING:
        raise Conflict("the care request has already been decided")
    if accept:
        requester = session.get(BridgeNurse, care_request.requested_by_id)
        if requester is None or not requester.active:
            raise RuleViolation("the requester is no longer an active bridge nurse")
        course = session.scalar(
            select(Enrollment).where(
                Enrollment.patient_id == care_request.patient_id, Enrollment.end_date.is_(None)
            )
        )
        if course is not None:
            course.nurse_id = requester.staff_id
        else:
            session.add(
                Enrollment(
                    patient_id=care_request.patient_id,
                    nurse_id=requester.staff_id,
                    start_date=date.today(),
                    reason=care_request.reason,
                    enrolled_by_id=p.staff_id,
                )
            )
    care_request.status = CareRequestStatus.ACCEPTED if accept else CareRequestStatus.DECLINED
    care_request.decided_by_id = p.staff_id
    care_request.decided_at = utcnow()
    care_request.decision_note = note
    session.flush()
    care_request.patient_shown = True
    return care_request
