"""The patient's records a nurse keeps: relatives, diagnoses, care team, enrollments and
consents (with the hooks that act on a consent recorded)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import (
    Principal,
)
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.identifiers import is_psychiatric, normalise_icd10
from bridge.domain.patients.models import (
    CareTeamMember,
    Consent,
    Diagnosis,
    Enrollment,
    Relative,
)
from bridge.domain.patients.services import (
    CLINICAL_WRITERS,
    check_patient_sight,
    read_patient_scoped,
    write_patient_scoped,
)
from bridge.domain.registry.models import BridgeNurse, Organisation, Role

#: fn(session, patient_id, now): called in the transaction that records a consent, so that what
#: waited for it (minutes blocked for lack of consent) goes out with it. Registered by the areas
#: that need it (meetings); patients know nothing of them.
# What a hook returns is its own business (the ledger returns the rows it released).
ConsentHook = Callable[[Session, int, datetime], object]


_consent_hooks: list[ConsentHook] = []


RecordT = TypeVar("RecordT", CareTeamMember, Consent, Relative, Diagnosis)


def register_consent_hook(fn: ConsentHook) -> None:
    """Have ``fn`` called after every consent recorded (once per function)."""
    if fn not in _consent_hooks:
        _consent_hooks.append(fn)


def add_relative(session: Session, p: Principal, patient_id: int, data: dict[str, Any]) -> Relative:
    """Record a relative (pårørende) of the patient."""
    write_patient_scoped(session, p, patient_id, "relative", AuditAction.CREATE)
    relative = Relative(patient_id=patient_id, **data)
    session.add(relative)
    session.flush()
    return relative


def list_relatives(session: Session, p: Principal, patient_id: int) -> list[Relative]:
    """The patient's relatives."""
    check_patient_sight(session, p, patient_id, "relative", AuditAction.LIST)
    return _rows_of(session, Relative, patient_id)


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
    check_patient_sight(session, p, patient_id, "diagnosis", AuditAction.LIST)
    return _rows_of(session, Diagnosis, patient_id)


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
    check_patient_sight(session, p, patient_id, "care_team", AuditAction.LIST)
    return _rows_of(session, CareTeamMember, patient_id)


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
    check_patient_sight(session, p, patient_id, "enrollment", AuditAction.LIST)
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
    check_patient_sight(session, p, patient_id, "consent", AuditAction.LIST)
    return _rows_of(session, Consent, patient_id)


@dataclass(frozen=True)
class PatientRecords:
    """What the patient's page shows of the records, read after one check of sight."""

    care_team: list[CareTeamMember]
    consents: list[Consent]
    relatives: list[Relative]
    diagnoses: list[Diagnosis]


def patient_records(session: Session, p: Principal, patient_id: int) -> PatientRecords:
    """The patient's care team, consents, relatives and diagnoses: the same reads, access-log
    notes and order as the four ``list_*`` functions, with the caller's sight checked once."""
    read_patient_scoped(session, p, patient_id, "care_team", AuditAction.LIST)
    for resource_type in ("consent", "relative", "diagnosis"):
        audit.record(session, p, AuditAction.LIST, resource_type, patient_id, patient_id)

    return PatientRecords(
        care_team=_rows_of(session, CareTeamMember, patient_id),
        consents=_rows_of(session, Consent, patient_id),
        relatives=_rows_of(session, Relative, patient_id),
        diagnoses=_rows_of(session, Diagnosis, patient_id),
    )


def _rows_of(session: Session, model: type[RecordT], patient_id: int) -> list[RecordT]:
    """The patient's rows of one record, oldest first (the caller has checked sight)."""
    return list(session.scalars(_rows_of_statement(model), {"patient_id": patient_id}))


@cache
def _rows_of_statement(model: type[Any]) -> Select[Any]:
    # Built once per record, as base.read_by_id builds its statements.
    return select(model).where(model.patient_id == bindparam("patient_id")).order_by(model.id)
