"""Care reads for the web pages' Today and caseload: recent discharges, plan status, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal, patient_visible
from bridge.domain.audit import AuditAction
from bridge.domain.care.models import (
    Admission,
    FollowUpStatus,
    FollowUpTask,
)
from bridge.domain.patients.models import Patient

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
