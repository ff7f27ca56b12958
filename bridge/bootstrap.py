"""The composition: what runs in Bridge, said in one place.

Areas of the domain offer hooks (visibility rules, outcome handlers, consent hooks, timeline
sources, gap rules) and the web offers sections; none registers itself when imported. Here they
are wired together, once, by ``compose`` — which the app factory calls, and with it every entry
point built on the app (web, API, CLI commands, the scheduler and its jobs).
"""

from __future__ import annotations

from functools import partial

from bridge.config import Settings
from bridge.domain import models
from bridge.domain import timeline as course
from bridge.domain.access import register_visibility
from bridge.domain.care import timeline as care_timeline
from bridge.domain.care.models import hospital_sees_admitted
from bridge.domain.gaps import rules as gap_rules
from bridge.domain.gaps import timeline as gaps_timeline
from bridge.domain.gaps.engine import register_rules
from bridge.domain.meetings import outbox as minutes_outbox
from bridge.domain.meetings import timeline as meetings_timeline
from bridge.domain.meetings.distribution_status import (
    on_notification_outcome,
    on_notification_outcomes,
)
from bridge.domain.meetings.ledger import release_after_consent
from bridge.domain.notifications.outcomes import register_ack_handler
from bridge.domain.patients.records import register_consent_hook
from bridge.domain.registry.models import Role
from bridge.domain.timeline import register_timeline_sources
from bridge.jobs.dispatch import dispatch_notifications
from bridge.jobs.gaps import gap_scan
from bridge.jobs.overview import overview_rollup
from bridge.jobs.reminders import overdue_task_reminders
from bridge.jobs.retention import retention_purge
from bridge.jobs.scheduler import ScheduledJob
from bridge.web import calendar as web_calendar
from bridge.web import messages as web_messages
from bridge.web import patient_panels, worklist
from bridge.web import requests as web_requests
from bridge.web.sections import (
    register_caseload_column,
    register_patient_panel,
    register_timeline_source,
    register_today_provider,
)


def compose() -> None:
    """Wire every area's contributions (safe to call again: each registration is idempotent)."""
    compose_domain()
    compose_web()


def compose_domain() -> None:
    """The domain's own wiring, which every entry point needs."""
    models.schema()
    # Hospital staff see the patients in their department's care (the treatment relation).
    register_visibility(Role.HOSPITAL, hospital_sees_admitted)
    # Minutes go out through the outbox; what becomes of each notification comes back to the
    # distribution. One direction: meetings hand work to notifications, outcomes return here.
    register_ack_handler(
        minutes_outbox.SOURCE_TYPE, on_notification_outcome, many=on_notification_outcomes
    )
    # Minutes blocked for lack of consent go out with the consent that was missing.
    register_consent_hook(release_after_consent)
    register_timeline_sources(
        (
            *course.SOURCES,
            *gaps_timeline.SOURCES,
            *meetings_timeline.SOURCES,
            *care_timeline.SOURCES,
        )
    )
    register_rules(gap_rules.ALL_RULES)


def scheduled_jobs(settings: Settings) -> list[ScheduledJob]:
    """What the scheduler process runs, each at the interval its setting names (in seconds)."""
    return [
        ScheduledJob(
            "gap_scan",
            partial(gap_scan, config=settings.gap_config()),
            "BRIDGE_GAP_SCAN_SECONDS",
            settings.BRIDGE_GAP_SCAN_SECONDS,
        ),
        ScheduledJob(
            "retention_purge",
            partial(retention_purge, policy=settings.retention_policy()),
            "BRIDGE_RETENTION_SECONDS",
            settings.BRIDGE_RETENTION_SECONDS,
        ),
        # Unlocked: several dispatchers may run at once (each claims its own rows).
        ScheduledJob(
            "dispatch_notifications",
            partial(dispatch_notifications, settings=settings),
            "NOTIFY_DISPATCH_SECONDS",
            settings.NOTIFY_DISPATCH_SECONDS,
            lock=False,
        ),
        ScheduledJob(
            "overview_rollup",
            overview_rollup,
            "BRIDGE_OVERVIEW_SECONDS",
            settings.BRIDGE_OVERVIEW_SECONDS,
        ),
        ScheduledJob(
            "overdue_task_reminders",
            overdue_task_reminders,
            "BRIDGE_REMINDER_SECONDS",
            settings.BRIDGE_REMINDER_SECONDS,
        ),
    ]


def compose_web() -> None:
    """The nurse's pages: the Today sections, the caseload's columns, the patient's panels."""
    # Messages from GPs and the other sectors come first, while they are new.
    register_today_provider("messages", web_messages.messages_today, order=1)
    register_today_provider("today", worklist.today_due, order=5)
    register_today_provider("flags", worklist.flags_today, order=10)
    register_today_provider("follow_ups", worklist.follow_ups_today, order=20)
    register_today_provider("meeting_requests", web_requests.meeting_requests_today, order=25)
    register_today_provider("meetings", worklist.meetings_today, order=30)
    register_today_provider("discharges", worklist.discharges_today, order=40)
    register_today_provider("calendar", web_calendar.calendar_today, order=90)
    register_caseload_column("flags", patient_panels.flags_column)
    register_caseload_column("next_deadline", patient_panels.deadline_column)
    register_patient_panel("messages", web_messages.messages_panel, order=3)
    register_patient_panel("flags", patient_panels.flags_panel, order=5)
    register_patient_panel("tasks", patient_panels.tasks_panel, order=10)
    register_patient_panel("meetings", patient_panels.meetings_panel, order=20)
    register_patient_panel("admissions", patient_panels.admissions_panel, order=30)
    register_timeline_source("course", patient_panels.course_items)
