"""Who may see which patient. Every patient-scoped query goes through ``patient_visible``.

Visibility is decided in SQL, so a list and a single read apply the same rule and a list page
costs one query however many patients the caller may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    event,
    exists,
    false,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import Session, aliased

from bridge.domain.base import utcnow
from bridge.domain.errors import Forbidden, NotFound
from bridge.domain.patients.models import Enrollment, Patient, PatientRecord
from bridge.domain.registry.models import Organisation, OrganisationKind, Role, Staff


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a staff member acting for an organisation."""

    staff_id: int
    organisation_id: int
    roles: frozenset[str]
    # The municipality the caller's organisation is, or belongs to (for municipality staff).
    municipality_id: int | None = None

    @property
    def basis(self) -> str:
        """Through which relations this caller sees patients, for the access log: a hospital
        department's reads say "treatment", so the patient can tell them from a nurse's."""
        return ",".join(sorted({_ROLE_BASIS.get(role, role) for role in self.roles}))

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: str) -> None:
        """Raise Forbidden unless the caller holds one of ``roles``."""
        if not self.has(*roles):
            raise Forbidden("your role may not do this")


# What gives each role sight of a patient (see patient_visible).
_ROLE_BASIS: dict[str, str] = {
    Role.ADMIN: "admin",
    Role.NURSE: "caseload",
    Role.MUNICIPALITY: "residence",
    Role.GP: "listed",
    Role.HOSPITAL: "treatment",
}


@dataclass(frozen=True)
class AccessSettings:
    """The settings of the access rules (read in bridge/config.py, set by the app factory)."""

    treatment_access_days: int = 30
    registrations_per_day: int = 20


_settings = AccessSettings()


def configure_access(**values: int) -> None:
    """Apply the configured access settings (once, when the app is built)."""
    global _settings
    _settings = AccessSettings(**values)
    if not event.contains(Session, "after_transaction_end", forget_sight):
        event.listen(Session, "after_transaction_end", forget_sight)


def access_settings() -> AccessSettings:
    return _settings


def treatment_access_since() -> datetime:
    """Stays discharged before this moment no longer give their department sight.

    Evaluated at each execution (a bind parameter's callable), so the cached visibility
    condition never freezes "now"."""
    return utcnow() - timedelta(days=_settings.treatment_access_days)


def municipality_of(
    org_id: int, kind: str, parent_id: int | None, parent_kind: str | None
) -> int | None:
    """The municipality an organisation is, or belongs to (its parent), if any."""
    if kind == OrganisationKind.MUNICIPALITY:
        return org_id
    if parent_kind == OrganisationKind.MUNICIPALITY:
        return parent_id
    return None


_PARENT = aliased(Organisation)
_ORGANISATION_QUERY = (
    select(Organisation.kind, _PARENT.id, _PARENT.kind)
    .outerjoin(_PARENT, _PARENT.id == Organisation.parent_id)
    .where(Organisation.id == bindparam("org_id"))
)


def load_principal(session: Session, staff: Staff) -> Principal:
    """Build the principal for an active staff member (one query for the organisation and its
    parent)."""
    org = session.execute(_ORGANISATION_QUERY, {"org_id": staff.organisation_id}).first()
    return Principal(
        staff_id=staff.id,
        organisation_id=staff.organisation_id,
        roles=frozenset(staff.roles),
        municipality_id=municipality_of(staff.organisation_id, *org) if org else None,
    )


# Later areas (admissions) add the ways a role comes to see a patient; each returns a condition
# on Patient. Kept as a registry so the rule stays in one place rather than in each query.
VisibilityRule = Callable[[Principal], ColumnElement[bool]]
_extra_rules: dict[str, VisibilityRule] = {}


# Statement builders kept per caller that contain ``patient_visible``; a new rule clears them.
_BUILT_WITH_VISIBILITY: list[Any] = []

F = TypeVar("F", bound=Callable[..., Any])


def built_per_caller(builder: F) -> F:
    """Keep what ``builder`` builds (a statement that uses ``patient_visible``) per arguments.

    A worker serves the same callers over and over; a statement built once is also compiled
    once (SQLAlchemy finds it by the object, without walking it for a cache key)."""
    # About 10 KB a statement (its page variants included): a worker that meets 512 callers a
    # list keeps a few MB; one that meets more rebuilds for the least recent, as before.
    cached = lru_cache(maxsize=512)(builder)
    _BUILT_WITH_VISIBILITY.append(cached)
    return cast(F, cached)


def register_visibility(role: str, rule: VisibilityRule) -> None:
    """Let ``role`` see the patients ``rule`` selects (used by areas built on the registry)."""
    _extra_rules[role] = rule
    patient_visible.cache_clear()
    for cached in _BUILT_WITH_VISIBILITY:
        cached.cache_clear()


# Built once: aliasing a mapped class is costly enough to show up in every request's profile.
_ENROLLMENT = aliased(Enrollment)
_OTHER_ENROLLMENT = aliased(Enrollment)
_REGISTERED = aliased(Patient)


def _nurse_rule(p: Principal) -> ColumnElement[bool]:
    # An IN over a small union lets PostgreSQL start from the nurse's few enrollments (index)
    # instead of testing EXISTS against every patient row.
    enrollment, other, registered = _ENROLLMENT, _OTHER_ENROLLMENT, _REGISTERED
    active = enrollment.end_date.is_(None)
    # Sight follows the course: whoever enrolled the patient, or held the course before a
    # handover, no longer sees them once the course is another nurse's.
    hers = select(enrollment.patient_id).where(active, enrollment.nurse_id == p.staff_id)
    # A nurse who has just registered a patient must see them to record their details and enrol
    # them (possibly with another nurse). That sight ends with the first course, whoever's it is,
    # and does not come back when a later course ends.
    registered_never_enrolled = select(registered.id).where(
        registered.registered_by_id == p.staff_id,
        ~exists().where(other.patient_id == registered.id),
    )
    return Patient.id.in_(union(hers, registered_never_enrolled))


# Kept per caller: a worker serves the same callers over and over, and building the condition
# costs more than evaluating it. SQL expressions are immutable, so sharing one is safe.
@lru_cache(maxsize=2048)
def patient_visible(p: Principal) -> ColumnElement[bool]:
    """The condition on ``Patient`` that selects exactly the patients ``p`` may see."""
    if p.has(Role.ADMIN):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if p.has(Role.NURSE):
        conditions.append(_nurse_rule(p))
    if p.has(Role.MUNICIPALITY) and p.municipality_id is not None:
        conditions.append(Patient.municipality_id == p.municipality_id)
    if p.has(Role.GP):
        conditions.append(Patient.gp_practice_id == p.organisation_id)
    for role, rule in _extra_rules.items():
        if p.has(role):
            conditions.append(rule(p))
    return or_(*conditions) if conditions else false()


def sole_organisation_sight(p: Principal) -> tuple[str, int] | None:
    """``("residence", municipality)`` for a municipality's staff and ``("listing", practice)``
    for a GP's, when that is all ``p`` may see; else None. A list for such a caller may use an
    index on a copy of the patient's municipality or practice, beside ``patient_visible``,
    which still decides."""
    seeing = {Role.ADMIN, Role.NURSE, Role.GP, Role.MUNICIPALITY, *_extra_rules}
    held = p.roles & seeing
    if held == {Role.MUNICIPALITY} and p.municipality_id is not None:
        return "residence", p.municipality_id
    if held == {Role.GP}:
        return "listing", p.organisation_id
    return None


# Where a transaction keeps the patients its callers were found to see (session.info).
_SIGHT = "bridge.sight"


def get_visible_patient(session: Session, p: Principal, patient_id: int) -> Patient:
    """The patient, or NotFound when it does not exist or the caller may not see it.

    A page asks for the same patient once per section; within one transaction the answer is
    checked in SQL once and then remembered (``forget_sight`` drops it when the transaction
    ends, so a change of who sees whom is never missed by a later transaction)."""
    seen = session.info.setdefault(_SIGHT, {})
    patient = seen.get((p, patient_id))
    if patient is None:
        patient = session.scalar(_visible_patient_select(p), {"patient_id": patient_id})
        if patient is None:
            raise NotFound("no such patient")
        seen[(p, patient_id)] = patient
    return patient


def forget_sight(session: Session, transaction: Any) -> None:
    """Session event ``after_transaction_end``: what a transaction found visible ends with it."""
    session.info.pop(_SIGHT, None)


@built_per_caller
def _visible_patient_select(p: Principal) -> Select:
    return select(Patient).where(Patient.id == bindparam("patient_id"), patient_visible(p))


def sees_patient(session: Session, p: Principal, patient_id: int) -> bool:
    """Whether the caller may see the patient, for a read that needs no more of the patient:
    what this transaction already found, else one statement of the patient's id alone."""
    if (p, patient_id) in session.info.get(_SIGHT, ()):
        return True
    found = session.connection().execute(_sight_select(p), {"patient_id": patient_id}).first()
    return found is not None


@built_per_caller
def _sight_select(p: Principal) -> Select:
    return select(Patient.id).where(Patient.id == bindparam("patient_id"), patient_visible(p))


def visible_patient_record(session: Session, p: Principal, patient_id: int) -> PatientRecord | None:
    """The patient as a read shows it (no entity), or None when it does not exist or the caller
    may not see it."""
    row = (
        session.connection().execute(_visible_record_select(p), {"patient_id": patient_id}).first()
    )
    return None if row is None else PatientRecord(*row)


@built_per_caller
def _visible_record_select(p: Principal) -> Select:
    return select(*PatientRecord.columns()).where(
        Patient.id == bindparam("patient_id"), patient_visible(p)
    )


def is_enrolled_nurse(session: Session, p: Principal, patient_id: int) -> bool:
    """Whether the caller is the nurse of the patient's active course."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Enrollment.patient_id == patient_id,
                    Enrollment.end_date.is_(None),
                    Enrollment.nurse_id == p.staff_id,
                )
            )
        )
    )
