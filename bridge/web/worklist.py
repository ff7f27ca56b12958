"""Today's sections, the caseload columns, the patient panels and the timeline items that come
from flags, follow-up tasks, meetings and discharges. Everything is read through the areas'
domain services, so access control and audit are those of the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal, patient_visible
from bridge.domain.calendar import COPENHAGEN, DEFAULT_CALENDAR, deadline_day
from bridge.domain.care import services as care
from bridge.domain.care.models import FollowUpStatus
from bridge.domain.gaps import services as gaps
from bridge.domain.gaps.models import Flag
from bridge.domain.meetings import services as meetings
from bridge.domain.meetings.models import MeetingStatus, MinutesStatus
from bridge.domain.patients.models import Patient
from bridge.domain.timeline import patient_timeline
from bridge.web import current_language
from bridge.web.labels import _N, label
from bridge.web.sections import (
    Cell,
    Section,
    SectionItem,
    register_caseload_column,
    register_patient_panel,
    register_timeline_source,
    register_today_provider,
)
from bridge.web.timeline_svg import TimelineItem, overlaps

ROWS = 50
DUE_WITHIN_WORKING_DAYS = 2
RECENT_DISCHARGE_DAYS = 14

# What the nurse does about each kind of gap; a rule without advice gets the general line.
ADVICE: dict[str, str] = {
    "patient_without_gp": _N("Find the patient's GP practice and record it on the patient."),
    "no_nurse_assigned": _N("Hand the course to an active bridge nurse."),
    "caseload_over_capacity": _N("Talk to your lead about moving patients to a colleague."),
    "somatic_screening_overdue": _N("Book a somatic screening with the GP and record it."),
    "gp_minutes_not_received": _N(
        "Call the GP practice: the final minutes have not been acknowledged."
    ),
}
GENERAL_ADVICE = _N("Open the patient and decide what to do.")


def severity_word(severity: int) -> str:
    """A flag's severity as the section item's visual level (3 high, 2 medium, 1 low)."""
    return {3: "danger", 2: "warning"}.get(severity, "info")


def flag_message(flag: Flag) -> str:
    """The flag's message in the reader's language."""
    return flag.message_en if current_language() == "en" else flag.message_da


def flag_advice(flag: Flag) -> str:
    """What to do about the flag."""
    return _(ADVICE.get(flag.rule, GENERAL_ADVICE))


def local_day(moment: datetime) -> date:
    return moment.astimezone(COPENHAGEN).date()


def day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=COPENHAGEN)


def patient_names(session: Session, p: Principal, ids: Sequence[int | None]) -> dict[int, str]:
    """Names of the visible patients among ``ids``, in one query (the rows were audited)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Patient.id, Patient.name).where(Patient.id.in_(wanted), patient_visible(p))
    )
    return dict(rows.all())


def attention_flags(
    session: Session, p: Principal, now: datetime, *, patient_id: int | None = None
):
    """Live flags that need the nurse now: snoozed ones only after their snooze runs out."""
    page = gaps.list_flags(
        session, p, status=None, rule=None, patient_id=patient_id, nurse_id=None, cursor=None,
        limit=ROWS, attention_at=now,
    )  # fmt: skip
    return page.items


def _age(since: datetime, now: datetime) -> str:
    days = (local_day(now) - local_day(since)).days
    if days <= 0:
        return _("found today")
    return ngettext("open for %(num)s day", "open for %(num)s days", days)


# --- Today ------------------------------------------------------------------------------------


def flags_today(session: Session, p: Principal, now: datetime) -> Section:
    """The open flags worklist: most severe first, then oldest."""
    flags = attention_flags(session, p, now)
    names = patient_names(session, p, [f.patient_id for f in flags])
    items = [
        SectionItem(
            title=flag_message(f),
            href=url_for("web.patient", patient_id=f.patient_id)
            if f.patient_id
            else url_for("web.flags"),
            detail=f"{flag_advice(f)} ({_age(f.first_detected_at, now)})",
            patient_name=names.get(f.patient_id) if f.patient_id else None,
            severity=severity_word(f.severity),
            when=f.first_detected_at,
        )
        for f in flags
    ]
    return Section(
        key="flags",
        title=_("Open flags"),
        items=items,
        empty_text=_("No open flags. Nothing has fallen through."),
        more_href=url_for("web.flags") if items else None,
    )


def follow_ups_today(session: Session, p: Principal, now: datetime) -> Section:
    """Open follow-up tasks that are overdue or due within two working days."""
    horizon = day_start(DEFAULT_CALENDAR.add_working_days(local_day(now), DUE_WITHIN_WORKING_DAYS))
    page = care.list_follow_ups(
        session, p, status=FollowUpStatus.OPEN, due_before=horizon, cursor=None, limit=ROWS
    )
    names = patient_names(session, p, [t.patient_id for t in page.items])
    items = [
        SectionItem(
            title=t.title,
            href=url_for("web.admission", admission_id=t.admission_id)
            if t.admission_id
            else url_for("web.patient", patient_id=t.patient_id),
            patient_name=names.get(t.patient_id),
            severity="danger" if t.overdue(now) else "warning",
            due=t.due_at,
            overdue=t.overdue(now),
        )
        for t in page.items
    ]
    return Section(
        key="follow_ups",
        title=_("Follow-up tasks due"),
        items=items,
        empty_text=_("No follow-up tasks are due."),
    )


def meetings_today(session: Session, p: Principal, now: datetime) -> Section | None:
    """Meetings from Monday to Sunday of this week, and whether their minutes are done."""
    if not p.has(*meetings.MEETING_ROLES):
        return None
    today = local_day(now)
    monday = today - timedelta(days=today.weekday())
    rows = meetings.list_meetings_between(
        session, p, day_start(monday), day_start(monday + timedelta(days=7)), limit=ROWS
    )
    names = patient_names(session, p, [m.patient_id for m in rows])
    minutes = meetings.latest_minutes_status(session, [m.id for m in rows])
    items = []
    for m in rows:
        state = minutes.get(m.id)
        if m.status == MeetingStatus.HELD and (state is None or state[1] == MinutesStatus.DRAFT):
            detail, severity = _("Held; the minutes are not final yet"), "warning"
        elif m.status == MeetingStatus.HELD:
            detail, severity = _("Held; minutes final"), "info"
        else:
            detail, severity = (m.place or _("Planned")), "info"
        items.append(
            SectionItem(
                title=_("Network meeting %(when)s", when=_dk(m.scheduled_start, with_time=True)),
                href=url_for("web.meeting", meeting_id=m.id),
                detail=detail,
                patient_name=names.get(m.patient_id),
                severity=severity,
            )
        )
    return Section(
        key="meetings",
        title=_("Meetings this week"),
        items=items,
        empty_text=_("No meetings this week."),
    )


def discharges_today(session: Session, p: Principal, now: datetime) -> Section:
    """Stays discharged in the last 14 days, with how far their follow-up plan has got."""
    rows = care.list_recent_discharges(
        session, p, since=now - timedelta(days=RECENT_DISCHARGE_DAYS), now=now, limit=ROWS
    )
    names = patient_names(session, p, [a.patient_id for a, _s in rows])
    items = []
    for a, plan in rows:
        if plan.total == 0:
            detail, severity = _("No follow-up plan"), "warning"
        else:
            detail = _(
                "Plan: %(done)s of %(total)s done, %(overdue)s overdue",
                done=plan.done,
                total=plan.total - plan.cancelled,
                overdue=plan.overdue,
            )
            severity = "danger" if plan.overdue else "info"
        items.append(
            SectionItem(
                title=_("Discharged %(when)s", when=_dk(a.discharged_at)),
                href=url_for("web.admission", admission_id=a.id),
                detail=detail,
                patient_name=names.get(a.patient_id),
                severity=severity,
                overdue=bool(plan.overdue),
            )
        )
    return Section(
        key="discharges",
        title=_("Discharges in the last 14 days"),
        items=items,
        empty_text=_("No discharges in the last 14 days."),
    )


def _dk(value: datetime | None, with_time: bool = False) -> str:
    from bridge.web.formatting import dk_date, dk_datetime

    return dk_datetime(value) if with_time else dk_date(value)


register_today_provider("flags", flags_today, order=10)
register_today_provider("follow_ups", follow_ups_today, order=20)
register_today_provider("meetings", meetings_today, order=30)
register_today_provider("discharges", discharges_today, order=40)


# --- Caseload -----------------------------------------------------------------------------------


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
        for pid, due in care.next_deadlines(session, p, list(patient_ids)).items()
    }


register_caseload_column("flags", flags_column)
register_caseload_column("next_deadline", deadline_column)


# --- Patient page -------------------------------------------------------------------------------


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
    if not p.has(*meetings.MEETING_ROLES):
        return None
    page = meetings.list_meetings(session, p, cursor=None, limit=ROWS, patient_id=patient_id)
    rows = sorted(page.items, key=lambda m: m.scheduled_start or m.created_at, reverse=True)
    return Section(
        key="patient-meetings",
        title=_("Network meetings"),
        items=[
            SectionItem(
                title=_("Network meeting %(when)s", when=_dk(m.scheduled_start, with_time=True))
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
    rows = care.list_patient_admissions(session, p, patient_id)
    items = []
    for a in rows:
        if a.discharged_at is None:
            title = _("Admitted %(when)s, still admitted", when=_dk(a.admitted_at))
        else:
            title = _(
                "Admitted %(start)s, discharged %(end)s",
                start=_dk(a.admitted_at),
                end=_dk(a.discharged_at),
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
    page = care.list_follow_ups(
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


register_patient_panel("flags", flags_panel, order=5)
register_patient_panel("tasks", tasks_panel, order=10)
register_patient_panel("meetings", meetings_panel, order=20)
register_patient_panel("admissions", admissions_panel, order=30)


# --- Timeline -----------------------------------------------------------------------------------


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
    if p.has(*meetings.MEETING_ROLES):
        page = meetings.list_meetings(session, p, cursor=None, limit=ROWS, patient_id=patient_id)
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


register_timeline_source("course", course_items)
