"""Reminders for overdue GP tasks as a scheduled job (default hourly: BRIDGE_REMINDER_SECONDS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge.domain.care.reminders import remind_overdue_gp_tasks


def overdue_task_reminders(session: Session, now: datetime) -> dict[str, Any]:
    """Remind each GP practice once of each of its overdue follow-up tasks."""
    return remind_overdue_gp_tasks(session, now).as_dict()
