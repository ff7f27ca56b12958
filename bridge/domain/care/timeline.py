"""This area's sources for the patient timeline: stays, statutory plans, follow-up tasks.

Each is a SELECT of the timeline's row shape (built once, run in the timeline's one UNION ALL)
and a function that turns a row into items.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, cast

from bridge.domain.care.models import (
    Admission,
    FollowUpStatus,
    FollowUpTask,
    StatutoryPlan,
    follow_up_is_overdue,
)
from bridge.domain.registry.models import Organisation
from bridge.domain.timeline import (
    PATIENT_ID,
    TimelineItem,
    TimelineQuery,
    TimelineRow,
    at_start_of_day,
    timeline_select,
)

_ADMISSIONS = (
    timeline_select(
        id=Admission.id,
        at=Admission.admitted_at,
        second_at=Admission.discharged_at,
        text=Organisation.name,
        code=Admission.destination,
        number=cast(Admission.acute, Integer),  # booleans do not UNION with integers
    )
    .join(Organisation, Organisation.id == Admission.department_id)
    .where(Admission.patient_id == PATIENT_ID)
)


def admission_items(row: TimelineRow, now: datetime) -> list[TimelineItem]:
    """An item for each admission and each discharge."""
    discharged_at, department, destination = row.second_at, row.text, row.code
    kind = "akut" if row.number else "planlagt"
    status = "open" if discharged_at is None else "discharged"
    items = [
        TimelineItem(
            "admission", row.at, f"Indlagt ({kind}) på {department}", status, "admission", row.id
        )
    ]
    if discharged_at is not None:
        items.append(
            TimelineItem(
                "discharge",
                discharged_at,
                f"Udskrevet fra {department}",
                destination,
                "admission",
                row.id,
            )
        )
    return items


_STATUTORY_PLANS = (
    timeline_select(id=StatutoryPlan.id, day=StatutoryPlan.agreed_on, code=StatutoryPlan.kind)
    .join(Admission, Admission.id == StatutoryPlan.admission_id)
    .where(Admission.patient_id == PATIENT_ID)
)


def statutory_plan_items(row: TimelineRow, now: datetime) -> list[TimelineItem]:
    """An item for each statutory plan, on the day it was agreed."""
    return [
        TimelineItem(
            "statutory_plan",
            at_start_of_day(row.day),
            f"Plan: {row.code}",
            None,
            "statutory_plan",
            row.id,
        )
    ]


_FOLLOW_UPS = timeline_select(
    id=FollowUpTask.id,
    at=FollowUpTask.due_at,
    second_at=FollowUpTask.done_at,
    text=FollowUpTask.title,
    code=FollowUpTask.status,
).where(FollowUpTask.patient_id == PATIENT_ID)


def follow_up_items(row: TimelineRow, now: datetime) -> list[TimelineItem]:
    """Each task when it is due, and again when it was done."""
    due_at, done_at, title, status = row.at, row.second_at, row.text, row.code
    overdue = follow_up_is_overdue(status, due_at, now)
    items = [TimelineItem("follow_up_due", due_at, title, status, "follow_up", row.id, overdue)]
    if status == FollowUpStatus.DONE and done_at is not None:
        items.append(TimelineItem("follow_up_done", done_at, title, status, "follow_up", row.id))
    return items


#: This module's sources, for the composition (bridge/bootstrap.py) to register.
SOURCES: tuple[TimelineQuery, ...] = (
    TimelineQuery(_ADMISSIONS, admission_items),
    TimelineQuery(_STATUTORY_PLANS, statutory_plan_items),
    TimelineQuery(_FOLLOW_UPS, follow_up_items),
)
