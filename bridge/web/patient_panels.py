"""The patient's panels and the caseload's columns: what each patient's page and row show of
flags, tasks, meetings and stays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.calendar import deadline_day
from bridge.domain.care import admissions as admissions_service
from bridge.domain.care import follow_ups as follow_ups_service
from bridge.domain.care import worklist
from bridge.domain.care.models import FollowUpStatus
from bridge.domain.gaps import services as gaps
from bridge.domain.meetings import scheduling, scoping
from bridge.domain.timeline import patient_timeline
from bridge.web.labels import label
from bridge.web.sections import (
    Cell,
    Section,
    SectionItem,
)
from bridge.web.timeline_svg import TimelineItem, overlaps
from bridge.web.worklist import (
    ROWS,
    attention_flags,
    dk_when,
    flag_advice,
    flag_message,
    local_day,
    severity_word,
)


def flags_column(session: Session, p: Principal, patient_ids: Sequence[int]) -> dict[int, Cell]:
    """Each patient's flags needing attention: how many, coloured by the most severe."""
    from bridge.domain.base import utcnow

    counts = gaps.live_flag_counts(session, p, list(patient_ids), utcnow())
    return {
        pid: Cell(text=ngettext("%(num)s open", "%(num)s open", n), severity=severity_word(sev))
        for pid, (n, sev) in counts.items()
    }


def deadline_column(session: Session, p: Principal, patient_ids: Sequence[int]) -> dict[int, Cell]:
    """Each patient's earliest open follow-up deadline; red once it has passed."""
    from bridge.domain.base import utcnow

    now = utcnow()
    return {
        pid: Cell(
            text=_("Overdue") if due < now else _("Due"),
            severity="danger" if due < now else "info",
            due=due,
        )
        for pid, due in worklist.next_deadlines(session, p, list(patient_ids)).items()
    }


def flags_panel(session: Session, p: Principal, patient_id: int, now: datetime) -> Section:
    """The patient's flags that need attention."""
    flags = attention_flags(session, p, now, patient_id=patient_id)
    return Section(
        key="patient-flags",
        title=_("Flags"),
        items=[
            SectionItem(
                title=flag_message(f),
                href=url_for("web.flags") + f"#flag-{f.id}",
                detail=flag_advice(f),
                severity=severity_word(f.severity),
                when=f.first_detected_at,
            )
            for f in flags
        ],
        empty_text=_("No open flags."),
    )


def meetings_panel(
    session: Session, p: Principal, patient_id: int, now: datetime
) -> Section | None:
    """The patient's network meetings, newest first, with a link to plan one."""
    if not p.has(*scoping.MEETING_ROLES):
        return None
    page = scheduling.list_meetings(session, p, cursor=None, limit=ROWS, patient_id=patient_id)
    rows = sorted(page.items, key=lambda m: m.scheduled_start or m.created_at, reverse=True)
    return Section(
        key="patient-meetings",
        title=_("Network meetings"),
        items=[
            SectionItem(
                title=_("Network meeting %(when)s", when=dk_when(m.scheduled_start, with_time=True))
                if m.scheduled_start
                else _("Requested network meeting"),
                href=url_for("web.meeting", meeting_id=m.id),
                detail=label("meeting_status", m.status),
                overdue=m.overdue(now),
            )
            for m in rows
        ],
        empty_text=_("No network meetings yet."),
        more_href=url_for("web.meeting_new", patient_id=patient_id),
        context={"more_text": _("Plan a meeting")},
    )


def admissions_panel(session: Session, p: Principal, patient_id: int, now: datetime) -> Section:
    """The patient's stays, newest first, each linking to its discharge and follow-up plan."""
    rows = admissions_service.list_patient_admissions(session, p, patient_id)
    items = []
    for a in rows:
        if a.discharged_at is None:
            title = _("Admitted %(when)s, still admitted", when=dk_when(a.admitted_at))
        else:
            title = _(
                "Admitted %(start)s, discharged %(end)s",
                start=dk_when(a.admitted_at),
                end=dk_when(a.discharged_at),
            )
        items.append(
            SectionItem(
                title=title,
                href=url_for("web.admission", admission_id=a.id),
                detail=label("specialty", a.specialty),
            )
        )
    return Section(
        key="patient-admissions",
        title=_("Admissions"),
        items=items,
        empty_text=_("No admissions recorded."),
    )


def tasks_panel(session: Session, p: Principal, patient_id: int, now: datetime) -> Section:
    """The patient's open follow-up tasks, by deadline."""
    page = follow_ups_service.list_follow_ups(
        session, p, status=FollowUpStatus.OPEN, patient_id=patient_id, cursor=None, limit=ROWS
    )
    return Section(
        key="patient-tasks",
        title=_("Open tasks"),
        items=[
            SectionItem(
                title=t.title,
                href=url_for("web.admission", admission_id=t.admission_id)
                if t.admission_id
                else None,
                severity="danger" if t.overdue(now) else "info",
                due=t.due_at,
                overdue=t.overdue(now),
            )
            for t in page.items
        ],
        empty_text=_("No open tasks."),
    )


def course_items(
    session: Session, p: Principal, patient_id: int, first: date, last: date
) -> list[TimelineItem]:
    """Admissions as bars and tasks as marks from the patient's course, meetings as marks."""
    from bridge.domain.base import utcnow

    now = utcnow()
    events = patient_timeline(session, p, patient_id)
    discharged = {e.resource_id: e.at for e in events if e.type == "discharge"}
    items: list[TimelineItem] = []
    for e in events:
        if e.type == "admission":
            end = discharged.get(e.resource_id)
            item = TimelineItem("admission", local_day(e.at), local_day(end) if end else None,
                                label=e.title)  # fmt: skip
        elif e.type == "discharge":
            item = TimelineItem("discharge", local_day(e.at), label=e.title)
        elif e.type == "follow_up_due" and e.status in ("open", "done"):
            item = TimelineItem("task", deadline_day(e.at), overdue=e.overdue, label=e.title)
        else:
            continue
        if overlaps(item, first, last):
            items.append(item)
    if p.has(*scoping.MEETING_ROLES):
        page = scheduling.list_meetings(session, p, cursor=None, limit=ROWS, patient_id=patient_id)
        for m in page.items:
            day = local_day(m.scheduled_start) if m.scheduled_start else m.hold_by_on
            if day is None or not (first <= day <= last):
                continue
            items.append(
                TimelineItem(
                    "meeting",
                    day,
                    overdue=m.overdue(now),
                    label=_(
                        "Network meeting (%(status)s)", status=label("meeting_status", m.status)
                    ),
                )
            )
    return items
