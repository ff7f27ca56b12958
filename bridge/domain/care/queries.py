"""Set-based questions about admissions, for flags, gap jobs and read models.

Each is one SELECT over the whole table (optionally narrowed to one patient), returning ids.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from bridge.domain.care.models import Admission, Destination
from bridge.domain.registry.models import Specialty

# A stay that begins within this many days of a discharge is a readmission (genindlæggelse).
READMISSION_DAYS = 30


def _overlap(a: Any, b: Any) -> ColumnElement[bool]:
    # Two stays overlap when each starts before the other ends (an open stay has no end yet).
    return and_(
        or_(b.discharged_at.is_(None), a.admitted_at < b.discharged_at),
        or_(a.discharged_at.is_(None), b.admitted_at < a.discharged_at),
    )


def dual_admissions_select(patient_id: int | BindParameter | None = None) -> Select:
    """The SELECT of (patient_id, psychiatric id, somatic id) for overlapping stays of one
    patient (dobbeltindlagt)."""
    psych, som = aliased(Admission), aliased(Admission)
    stmt = (
        select(psych.patient_id, psych.id, som.id)
        .join(som, and_(som.patient_id == psych.patient_id, _overlap(psych, som)))
        .where(psych.specialty == Specialty.PSYCHIATRY, som.specialty == Specialty.SOMATIC)
        .order_by(psych.patient_id, psych.id, som.id)
    )
    if patient_id is not None:
        stmt = stmt.where(psych.patient_id == patient_id)
    return stmt


def _within_days(dialect: str, later: Any, earlier: Any, days: int) -> ColumnElement[bool]:
    """``later`` is at most ``days`` after ``earlier``."""
    if dialect == "postgresql":
        return later <= earlier + func.make_interval(0, 0, 0, days)
    # SQLite (development only) keeps timestamps as text; compare on julian days there.
    return func.julianday(later) <= func.julianday(earlier) + days


def readmissions_select(
    dialect: str, days: int = 30, patient_id: int | BindParameter | None = None
) -> Select:
    """The SELECT of (patient_id, discharged stay id, readmission id): stays that began within
    ``days`` after an earlier discharge of the same patient.

    A transfer (discharge to another hospital) or a death is not a discharge in this sense.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    prev, nxt = aliased(Admission), aliased(Admission)
    stmt = (
        select(prev.patient_id, prev.id, nxt.id)
        .join(nxt, and_(nxt.patient_id == prev.patient_id, nxt.id != prev.id))
        .where(
            prev.discharged_at.is_not(None),
            prev.destination.not_in([Destination.OTHER_HOSPITAL, Destination.DECEASED]),
            nxt.admitted_at >= prev.discharged_at,
            _within_days(dialect, nxt.admitted_at, prev.discharged_at, days),
        )
        .order_by(prev.patient_id, nxt.id, prev.id)
    )
    if patient_id is not None:
        stmt = stmt.where(prev.patient_id == patient_id)
    return stmt


class AdmissionFlags(NamedTuple):
    dual_admission: frozenset[int]
    readmission: frozenset[int]


@cache
def _patient_flags_select(dialect: str, days: int) -> CompoundSelect:
    # Built once per dialect: composing the two self-joins costs more than running them, and
    # every read of a stay needs them. One round trip: (flag, admission id) rows.
    patient: BindParameter[int] = bindparam("patient_id")
    dual = dual_admissions_select(patient).order_by(None)
    readmitted = readmissions_select(dialect, days, patient).order_by(None)
    psychiatric, somatic = dual.selected_columns[1], dual.selected_columns[2]
    return union_all(
        dual.with_only_columns(literal("dual"), psychiatric),
        dual.with_only_columns(literal("dual"), somatic),
        readmitted.with_only_columns(literal("readmission"), readmitted.selected_columns[2]),
    )


def patient_admission_flags(session: Session, patient_id: int, days: int) -> AdmissionFlags:
    """Which of the patient's stays are dual admissions, and which are readmissions."""
    stmt = _patient_flags_select(session.get_bind().dialect.name, days)
    flagged: dict[str, set[int]] = {"dual": set(), "readmission": set()}
    for flag, admission_id in session.execute(stmt, {"patient_id": patient_id}):
        flagged[flag].add(admission_id)
    return AdmissionFlags(frozenset(flagged["dual"]), frozenset(flagged["readmission"]))
