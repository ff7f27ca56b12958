"""Discharges and follow-up tasks to the GP and the other responsible organisations.

Called inside the discharge's (or the task change's) transaction, so the event and the
notifications that announce it commit together. Each notification has an idempotency key of its
own (per discharge and recipient, per task and organisation), so a repeated call sends nothing
twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.base import get_existing
from bridge.domain.calendar import COPENHAGEN, deadline_text
from bridge.domain.care import rules
from bridge.domain.care.models import (
    Admission,
    Destination,
    FollowUpStatus,
    FollowUpTask,
    ResponsibleKind,
)
from bridge.domain.notifications import NotificationEvent, enqueue_many
from bridge.domain.notifications.models import Notification
from bridge.domain.patients.models import Consent, Patient
from bridge.domain.registry.models import Organisation

DISCHARGE = "discharge"
TASK_ASSIGNED = "task_assigned"
TASK_OVERDUE = "task_overdue"
TASK_SOURCE = "follow_up_task"
ADMISSION_SOURCE = "admission"
# How much of the discharge summary (models.SUMMARY_MAX long) the GP's message carries.
MESSAGE_SUMMARY_MAX = 1500

_DESTINATIONS_DA: dict[Destination | None, str] = {
    Destination.HOME: "eget hjem",
    Destination.HOUSING_FACILITY: "botilbud",
    Destination.OTHER_HOSPITAL: "andet hospital",
    Destination.DECEASED: "afdød",
}


def local_date(moment: datetime) -> str:
    """A date as the recipient reads it (Copenhagen, dd.mm.yyyy)."""
    return f"{moment.astimezone(COPENHAGEN):%d.%m.%Y}"


def task_line(task: FollowUpTask) -> str:
    """One task as an action item of a message."""
    return f"{task.title} (frist {deadline_text(task.due_at)})"


def task_payload(task: FollowUpTask) -> dict:
    """What a message about one task says and links to (assigned or overdue alike)."""
    return {
        "ref": {
            "type": "follow_up",
            "id": task.id,
            "admission_id": task.admission_id,
            "patient_id": task.patient_id,
        },
        "link": f"/api/v1/follow-ups/{task.id}",
        "title": task.title,
        "action_items": [task_line(task)],
    }


def _notified_org(task: FollowUpTask) -> int | None:
    # A nurse's task carries her region as organisation; she reads it in Bridge, not a message.
    if task.responsible_kind == ResponsibleKind.NURSE or task.status != FollowUpStatus.OPEN:
        return None
    return task.responsible_organisation_id


def _allowed(session: Session, patient: Patient, org_ids: set[int]) -> set[int]:
    """The organisations among ``org_ids`` that may hear of the patient's discharge (2 queries)."""
    if not org_ids:
        return set()
    kinds = dict(
        session.execute(
            select(Organisation.id, Organisation.kind).where(Organisation.id.in_(org_ids))
        ).all()
    )
    needs_consent = {
        o
        for o, kind in kinds.items()
        if kind not in rules.STATUTORY_DISCHARGE_KINDS and o != patient.municipality_id
    }
    consents = (
        [
            rules.DischargeConsent(
                scope=c.scope,
                active=c.active,
                organisation_id=c.recipient_organisation_id,
                kind=c.recipient_kind,
            )
            for c in session.scalars(select(Consent).where(Consent.patient_id == patient.id))
        ]
        if needs_consent
        else []
    )
    return {
        o
        for o, kind in kinds.items()
        if rules.may_notify_of_discharge(
            organisation_id=o,
            kind=kind,
            residence_municipality_id=patient.municipality_id,
            consents=consents,
        )
    }


def task_events(tasks: list[FollowUpTask], allowed: set[int]) -> list[NotificationEvent]:
    """A task_assigned event per open task owned by an organisation that may be told."""
    events = []
    for task in tasks:
        org_id = _notified_org(task)
        if org_id is None or org_id not in allowed:
            continue
        events.append(
            NotificationEvent(
                recipient_organisation_id=org_id,
                kind=TASK_ASSIGNED,
                patient_id=task.patient_id,
                payload=task_payload(task),
                source_type=TASK_SOURCE,
                source_id=task.id,
                # Per task and owner: reassigning the task tells its new owner, once.
                idempotency_key=f"{TASK_ASSIGNED}:{task.id}:org:{org_id}",
            )
        )
    return events


def notify_discharge(
    session: Session, admission: Admission, tasks: list[FollowUpTask]
) -> list[Notification]:
    """Tell the GP of the discharge (with its tasks) and each task's owner of its task."""
    patient = session.get(Patient, admission.patient_id)
    assert patient is not None and admission.discharged_at is not None
    gp_id = patient.gp_practice_id
    wanted = {o for o in (_notified_org(t) for t in tasks) if o is not None}
    if gp_id is not None:
        wanted.add(gp_id)
    allowed = _allowed(session, patient, wanted)
    events = []
    if gp_id is not None and gp_id in allowed:
        department = session.scalar(
            select(Organisation.name).where(Organisation.id == admission.department_id)
        )
        destination = _DESTINATIONS_DA.get(admission.destination, "")
        when = local_date(admission.discharged_at)
        lines = [f"Udskrevet {when} fra {department} til {destination}"]
        if admission.discharge_summary:
            summary = admission.discharge_summary.strip()[:MESSAGE_SUMMARY_MAX]
            lines.append(f"Udskrivelsesresumé: {summary}")
        if admission.rehabilitation_plan_issued:
            lines.append("Der er udarbejdet en genoptræningsplan.")
        events.append(
            NotificationEvent(
                recipient_organisation_id=gp_id,
                kind=DISCHARGE,
                patient_id=patient.id,
                payload={
                    "ref": {"type": "admission", "id": admission.id, "patient_id": patient.id},
                    "link": f"/api/v1/admissions/{admission.id}",
                    "title": "\n".join(lines),
                    "action_items": [task_line(t) for t in tasks if _notified_org(t) == gp_id],
                },
                source_type=ADMISSION_SOURCE,
                source_id=admission.id,
                idempotency_key=f"{DISCHARGE}:{admission.id}:org:{gp_id}",
            )
        )
    events += task_events(tasks, allowed)
    return enqueue_many(session, events)


def notify_tasks_assigned(session: Session, tasks: list[FollowUpTask]) -> list[Notification]:
    """Tell each task's owner of a task added or reassigned after the discharge."""
    if not tasks:
        return []
    patients = {t.patient_id for t in tasks}
    assert len(patients) == 1, "tasks of one patient at a time"
    patient = get_existing(session, Patient, patients.pop())
    wanted = {o for o in (_notified_org(t) for t in tasks) if o is not None}
    return enqueue_many(session, task_events(tasks, _allowed(session, patient, wanted)))
