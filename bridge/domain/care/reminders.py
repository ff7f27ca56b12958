"""Reminders to GP practices about their overdue follow-up tasks: one per task and deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import Session

from bridge.domain.calendar import COPENHAGEN
from bridge.domain.care.models import FollowUpStatus, FollowUpTask
from bridge.domain.care.notify import TASK_OVERDUE, TASK_SOURCE, task_payload
from bridge.domain.notifications import NotificationEvent, enqueue_many
from bridge.domain.notifications.models import Channel, Notification
from bridge.domain.registry.models import Organisation, OrganisationKind


@dataclass(frozen=True)
class ReminderSummary:
    overdue_without_reminder: int
    reminded: int

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def reminder_key(task_id: int, due_at: datetime) -> str:
    """Per task and the day it first became overdue: a re-dated task is reminded again."""
    return f"{TASK_OVERDUE}:{task_id}:{due_at.astimezone(COPENHAGEN):%Y-%m-%d}"


def overdue_gp_tasks_select(now: datetime) -> Select[Any]:
    """Open tasks of GP practices past their deadline and not yet reminded for that deadline."""
    reminded = exists().where(
        Notification.source_type == TASK_SOURCE,
        Notification.source_id == FollowUpTask.id,
        Notification.kind == TASK_OVERDUE,
        Notification.channel == Channel.INBOX,
        # A reminder sent after the current deadline passed is a reminder for this deadline.
        Notification.created_at >= FollowUpTask.due_at,
    )
    return (
        select(FollowUpTask)
        .join(
            Organisation,
            and_(
                Organisation.id == FollowUpTask.responsible_organisation_id,
                Organisation.kind == OrganisationKind.GP_PRACTICE,
            ),
        )
        .where(
            FollowUpTask.status == FollowUpStatus.OPEN,
            FollowUpTask.due_at < now,
            ~reminded,
        )
        .order_by(FollowUpTask.due_at, FollowUpTask.id)
    )


def remind_overdue_gp_tasks(session: Session, now: datetime) -> ReminderSummary:
    """Enqueue one task_overdue reminder per overdue open GP task, once (set-based).

    One SELECT for the candidates and a bulk enqueue: the statement count does not grow with
    the number of tasks. Idempotent: running it twice, or in two processes, reminds once.
    """
    tasks = session.scalars(overdue_gp_tasks_select(now)).all()
    events = [
        NotificationEvent(
            recipient_organisation_id=t.responsible_organisation_id,
            kind=TASK_OVERDUE,
            patient_id=t.patient_id,
            payload=task_payload(t),
            source_type=TASK_SOURCE,
            source_id=t.id,
            idempotency_key=reminder_key(t.id, t.due_at),
        )
        for t in tasks
        if t.responsible_organisation_id is not None
    ]
    rows = enqueue_many(session, events)
    return ReminderSummary(
        overdue_without_reminder=len(tasks),
        reminded=len({n.event_key for n in rows}),
    )
