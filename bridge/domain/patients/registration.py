"""Registering a patient by CPR without revealing whether someone else already holds them, and
the care requests that join a nurse to a person already in Bridge."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import (
    Principal,
    access_settings,
    is_enrolled_nurse,
    patient_visible,
)
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, Forbidden, NotFound, RuleViolation, TooManyRequests
from bridge.domain.identifiers import parse_cpr
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.patients.models import (
    CareRequest,
    CareRequestStatus,
    Enrollment,
    Patient,
)
from bridge.domain.patients.services import (
    CLINICAL_WRITERS,
    check_patient_organisations,
    read_patient_scoped,
)
from bridge.domain.registry.models import BridgeNurse, Role


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
    check_patient_organisations(session, data)
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
