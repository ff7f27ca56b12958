"""The gap rules. Each is one set-based query; its docstring states the rule and threshold."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, and_, exists, func, or_, select

from bridge.domain.gaps.engine import ScanContext, detected_row, gap_rule
from bridge.domain.gaps.models import SomaticScreening
from bridge.domain.patients.models import Diagnosis, Enrollment, Patient
from bridge.domain.registry.models import BridgeNurse, Staff

HIGH, MEDIUM, LOW = 3, 2, 1

_active = Enrollment.end_date.is_(None)


@gap_rule("patient_without_gp", MEDIUM)
def patient_without_gp(ctx: ScanContext) -> Select:
    """An enrolled patient with no listed GP practice: nobody can act as coordinator (tovholder)
    and minutes have no GP to go to."""
    return (
        select(
            *detected_row(
                patient_id=Patient.id,
                subject_type="patient",
                subject_id=Patient.id,
                message_da="Patienten har ingen tilknyttet praktiserende læge",
                message_en="The patient has no listed GP practice",
            )
        )
        .join(Enrollment, and_(Enrollment.patient_id == Patient.id, _active))
        .where(Patient.gp_practice_id.is_(None))
    )


@gap_rule("no_nurse_assigned", HIGH)
def no_nurse_assigned(ctx: ScanContext) -> Select:
    """An active enrollment whose nurse has left (staff inactive) or is no longer an active
    bridge nurse."""
    return (
        select(
            *detected_row(
                patient_id=Enrollment.patient_id,
                subject_type="enrollment",
                subject_id=Enrollment.id,
                message_da="Forløbet har ingen aktiv brobyggersygeplejerske",
                message_en="The course has no active bridge nurse",
            )
        )
        .select_from(Enrollment)
        .join(Staff, Staff.id == Enrollment.nurse_id)
        .outerjoin(BridgeNurse, BridgeNurse.staff_id == Enrollment.nurse_id)
        .where(_active, or_(~Staff.active, BridgeNurse.staff_id.is_(None), ~BridgeNurse.active))
    )


@gap_rule("caseload_over_capacity", MEDIUM)
def caseload_over_capacity(ctx: ScanContext) -> Select:
    """A nurse with more active enrollments than her caseload capacity."""
    counts = (
        select(Enrollment.nurse_id.label("nurse_id"), func.count().label("n"))
        .where(_active)
        .group_by(Enrollment.nurse_id)
        .subquery()
    )
    return (
        select(
            *detected_row(
                patient_id=None,
                nurse_id=BridgeNurse.staff_id,
                subject_type="nurse",
                subject_id=BridgeNurse.staff_id,
                message_da="Sygeplejerskens caseload overstiger kapaciteten",
                message_en="The nurse's caseload exceeds her capacity",
            )
        )
        .join(counts, counts.c.nurse_id == BridgeNurse.staff_id)
        .where(counts.c.n > BridgeNurse.caseload_capacity)
    )


@gap_rule("somatic_screening_overdue", MEDIUM)
def somatic_screening_overdue(ctx: ScanContext) -> Select:
    """An enrolled patient with a psychosis diagnosis (ICD-10 F20-F29) and no somatic screening
    recorded in the last 12 months (configurable): somatic case finding is for life."""
    since = (ctx.now - timedelta(days=round(30.44 * ctx.config.screening_months))).date()
    psychosis = exists().where(Diagnosis.patient_id == Patient.id, Diagnosis.code.like("F2%"))
    screened = exists().where(
        SomaticScreening.patient_id == Patient.id, SomaticScreening.screened_on >= since
    )
    return (
        select(
            *detected_row(
                patient_id=Patient.id,
                subject_type="patient",
                subject_id=Patient.id,
                message_da="Somatisk screening mangler (psykose, over 12 måneder siden)",
                message_en="Somatic screening overdue (psychosis, none in 12 months)",
            )
        )
        .join(Enrollment, and_(Enrollment.patient_id == Patient.id, _active))
        .where(psychosis, ~screened)
    )
