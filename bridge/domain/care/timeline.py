"""This area's sources for the patient timeline: stays, statutory plans, follow-up tasks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.base import utcnow
from bridge.domain.care.models import Admission, FollowUpStatus, FollowUpTask, StatutoryPlan
from bridge.domain.registry.models import Organisation
from bridge.domain.timeline import TimelineItem, at_start_of_day, register_timeline_source


@register_timeline_source
def admission_items(session: Session, patient_id: int) -> list[TimelineItem]:
    """An item for each admission and each discharge (one query)."""
    rows = session.execute(
        select(Admission, Organisation.name)
        .join(Organisation, Organisation.id == Admission.department_id)
        .where(Admission.patient_id == patient_id)
    )
    items = []
    for admission, department in rows:
        kind = "akut" if admission.acute else "planlagt"
        status = "open" if admission.open else "discharged"
        items.append(
            TimelineItem(
                "admission",
                admission.admitted_at,
                f"Indlagt ({kind}) på {department}",
                status,
                "admission",
                admission.id,
            )
        )
        if admission.discharged_at is not None:
            items.append(
                TimelineItem(
                    "discharge",
                    admission.discharged_at,
                    f"Udskrevet fra {department}",
                    admission.destination.value,
                    "admission",
                    admission.id,
                )
            )
    return items


@register_timeline_source
def statutory_plan_items(session: Session, patient_id: int) -> list[TimelineItem]:
    """An item for each statutory plan, on the day it was agreed (one query)."""
    rows = session.scalars(
        select(StatutoryPlan)
        .join(Admission, Admission.id == StatutoryPlan.admission_id)
        .where(Admission.patient_id == patient_id)
    )
    return [
        TimelineItem(
            "statutory_plan",
            at_start_of_day(plan.agreed_on),
            f"Plan: {plan.kind.value}",
            None,
            "statutory_plan",
            plan.id,
        )
        for plan in rows
    ]


@register_timeline_source
def follow_up_items(session: Session, patient_id: int) -> list[TimelineItem]:
    """Each task when it is due, and again when it was done (one query)."""
    now = utcnow()
    items = []
    for task in session.scalars(select(FollowUpTask).where(FollowUpTask.patient_id == patient_id)):
        items.append(
            TimelineItem(
                "follow_up_due",
                task.due_at,
                task.title,
                task.status.value,
                "follow_up",
                task.id,
                task.overdue(now),
            )
        )
        if task.status == FollowUpStatus.DONE and task.done_at is not None:
            items.append(
                TimelineItem(
                    "follow_up_done",
                    task.done_at,
                    task.title,
                    task.status.value,
                    "follow_up",
                    task.id,
                )
            )
    return items
