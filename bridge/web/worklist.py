"""Today's sections, the caseload columns, the patient panels and the timeline items that come
from flags, follow-up tasks, meetings and discharges. Everything is read through the areas'
domain services, so access control and audit are those of the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal, patient_visible
from bridge.domain.calendar import COPENHAGEN, DEFAULT_CALENDAR, deadline_day
from bridge.domain.care import admissions as admissions_service
from bridge.domain.care import follow_ups as follow_ups_service
from bridge.domain.care import worklist
from bridge.domain.care.models import FollowUpStatus
from bridge.domain.gaps import services as gaps
from bridge.domain.gaps.models import Flag
from bridge.domain.meetings import scheduling, scoping
from bridge.domain.meetings import worklist as worklist_service
from bridge.domain.meetings.models import MeetingStatus, MinutesStatus
from bridge.domain.patients.models import Patient
from bridge.domain.timeline import patient_timeline
from bridge.web.blueprint import current_language
from bridge.web.formatting import dk_date, dk_datetime, dk_due
from bridge.web.labels import _N, label
from bridge.web.sections import (
    Cell,
    Section,
    SectionItem,
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
    "gp_practice_closed": _N(
        "Record the patient's new GP practice (the closed one's successor, if registered)."
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
) -> list[Flag]:
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
# Sorted for 8 o'clock: new messages from GPs (a provider registered at sections.TOP_ORDER, shown
# only when there are any), then today's meetings and what is due today, then the flags grouped
# by patient, then what comes later this week. Nothing appears in two sections.


def _end_of_day_cutoff(d: date) -> datetime:
    """Deadlines that end on or before ``d`` are stored up to (and including) the next midnight;
    ``due_before`` is exclusive, hence the second."""
    return day_start(d + timedelta(days=1)) + timedelta(seconds=1)


def _task_href(t) -> str:
    if t.admission_id:
        return url_for("web.admission", admission_id=t.admission_id) + f"#task-{t.id}"
    return url_for("web.patient", patient_id=t.patient_id)


def _todays_meetings(session: Session, p: Principal, now: datetime) -> list:
    if not p.has(*scoping.MEETING_ROLES):
        return []
    today = local_day(now)
    return worklist_service.list_meetings_between(
        session, p, day_start(today), day_start(today + timedelta(days=1)), limit=ROWS
    )


def today_due(session: Session, p: Principal, now: datetime) -> Section:
    """Today's meetings (by time), then the tasks whose deadline ends today or has passed."""
    rows = _todays_meetings(session, p, now)
    page = follow_ups_service.list_follow_ups(
        session, p, status=FollowUpStatus.OPEN, due_before=_end_of_day_cutoff(local_day(now)),
        cursor=None, limit=ROWS,
    )  # fmt: skip
    names = patient_names(
        session, p, [m.patient_id for m in rows] + [t.patient_id for t in page.items]
    )
    items = [
        SectionItem(
            title=_("Network meeting at %(time)s", time=_clock(m.scheduled_start)),
            href=url_for("web.meeting", meeting_id=m.id),
            detail=m.place or None,
            patient_name=names.get(m.patient_id),
            when=m.scheduled_start,
        )
        for m in rows
    ]
    items += [
        SectionItem(
            title=_("Task: %(title)s", title=t.title),
            href=_task_href(t),
            patient_name=names.get(t.patient_id),
            severity="danger" if t.overdue(now) else "warning",
            due=t.due_at,
            overdue=t.overdue(now),
        )
        for t in page.items
    ]
    return Section(
        key="today",
        title=_("Today: meetings and deadlines"),
        items=items,
        empty_text=_("No meetings today and nothing due."),
    )


@dataclass(frozen=True)
class FlagLine:
    """One flag in a group: what it is about (its object), where to act, how old it is."""

    flag_id: int
    subject: str | None
    href: str
    age: str


@dataclass(frozen=True)
class RuleGroup:
    rule: str
    message: str
    advice: str
    severity: str
    lines: list[FlagLine]


@dataclass(frozen=True)
class PatientGroup:
    patient_name: str | None
    href: str | None
    rules: list[RuleGroup]


def subject_text(s: gaps.FlagSubject) -> str | None:
    """A flag's object in words: which task, which meeting, which stay."""
    if s.kind == "follow_up_task" and s.title:
        return _("Task “%(title)s”, due %(when)s", title=s.title, when=dk_due(s.when))
    if s.kind == "action_item" and s.title:
        if s.when:
            return _("Action item “%(title)s”, due %(when)s", title=s.title, when=_dk(s.when))
        return _("Action item “%(title)s”", title=s.title)
    if s.kind in ("network_meeting", "minutes_version") and s.when:
        return _("Network meeting %(when)s", when=_dk(s.when, with_time=True))
    if s.kind == "admission" and s.when:
        return _("Admission %(when)s", when=_dk(s.when))
    return None


def subject_href(s: gaps.FlagSubject, flag: Flag) -> str:
    """Where the nurse acts on a flag's object."""
    if s.meeting_id:
        return url_for("web.meeting", meeting_id=s.meeting_id)
    if s.admission_id:
        anchor = f"#task-{flag.subject_id}" if s.kind == "follow_up_task" else ""
        return url_for("web.admission", admission_id=s.admission_id) + anchor
    if flag.patient_id:
        return url_for("web.patient", patient_id=flag.patient_id)
    return url_for("web.flags") + f"#flag-{flag.id}"


def group_flags(
    flags: Sequence[Flag], subjects: dict[int, gaps.FlagSubject], names: dict[int, str],
    now: datetime,
) -> list[PatientGroup]:  # fmt: skip
    """Flags by patient (most severe patient first), then by rule, each line naming its object."""
    by_patient: dict[int | None, dict[tuple[str, str], list[Flag]]] = {}
    for f in flags:  # already most severe first, then oldest
        by_patient.setdefault(f.patient_id, {}).setdefault((f.rule, f.message_da), []).append(f)
    groups = []
    for pid, rules in by_patient.items():
        rule_groups = []
        for (rule, _message), members in rules.items():
            first = members[0]
            rule_groups.append(
                RuleGroup(
                    rule=rule,
                    message=flag_message(first),
                    advice=flag_advice(first),
                    severity=severity_word(first.severity),
                    lines=[
                        FlagLine(
                            flag_id=f.id,
                            subject=subject_text(subjects[f.id]),
                            href=subject_href(subjects[f.id], f),
                            age=_age(f.first_detected_at, now),
                        )
                        for f in members
                    ],
                )
            )
        groups.append(
            PatientGroup(
                patient_name=names.get(pid) if pid else None,
                href=url_for("web.patient", patient_id=pid) if pid else None,
                rules=rule_groups,
            )
        )
    return groups


def flags_today(session: Session, p: Principal, now: datetime) -> Section:
    """The flags needing attention, grouped by patient and by what they are about. A late task
    is already in today's list, so its flag is not repeated here."""
    flags = attention_flags(session, p, now)
    subjects = gaps.flag_subjects(session, flags)
    flags = [
        f
        for f in flags
        if not (
            f.subject_type == "follow_up_task"
            and isinstance(subjects[f.id].when, datetime)
            and subjects[f.id].when < now
        )
    ]
    names = patient_names(session, p, [f.patient_id for f in flags])
    groups = group_flags(flags, subjects, names, now)
    return Section(
        key="flags",
        title=_("Flags"),
        # One item per flag, so the count in the heading is the number of flags.
        items=[SectionItem(title=flag_message(f)) for f in flags],
        empty_text=_("No open flags. Nothing has fallen through."),
        template="_flag_groups.html",
        context={"groups": groups},
        more_href=url_for("web.flags") if flags else None,
    )


def follow_ups_today(session: Session, p: Principal, now: datetime) -> Section:
    """Open follow-up tasks whose deadline ends within the next two working days (today's and
    late ones are in the Today section)."""
    today = local_day(now)
    last = DEFAULT_CALENDAR.add_working_days(today, DUE_WITHIN_WORKING_DAYS)
    page = follow_ups_service.list_follow_ups(
        session, p, status=FollowUpStatus.OPEN, due_before=_end_of_day_cutoff(last), cursor=None,
        limit=ROWS,
    )  # fmt: skip
    tasks = [t for t in page.items if t.due_on > today]
    names = patient_names(session, p, [t.patient_id for t in tasks])
    items = [
        SectionItem(
            title=t.title,
            href=_task_href(t),
            patient_name=names.get(t.patient_id),
            severity="info",
            due=t.due_at,
        )
        for t in tasks
    ]
    return Section(
        key="follow_ups",
        title=_("Deadlines in the next two working days"),
        items=items,
        empty_text=_("No deadlines in the next two working days."),
    )


def meetings_today(session: Session, p: Principal, now: datetime) -> Section | None:
    """The rest of this week's meetings (Monday to Sunday; today's are at the top), and whether
    their minutes are done."""
    if not p.has(*scoping.MEETING_ROLES):
        return None
    today = local_day(now)
    monday = today - timedelta(days=today.weekday())
    rows = [
        m
        for m in worklist_service.list_meetings_between(
            session, p, day_start(monday), day_start(monday + timedelta(days=7)), limit=ROWS
        )
        if local_day(m.scheduled_start) != today
    ]
    names = patient_names(session, p, [m.patient_id for m in rows])
    minutes = worklist_service.latest_minutes_status(session, [m.id for m in rows])
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
        title=_("Other meetings this week"),
        items=items,
        empty_text=_("No other meetings this week."),
    )


def discharges_today(session: Session, p: Principal, now: datetime) -> Section:
    """Stays discharged in the last 14 days, with how far their follow-up plan has got."""
    rows = worklist.list_recent_discharges(
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


def _dk(value: date | datetime | None, with_time: bool = False) -> str:
    return dk_datetime(value) if with_time else dk_date(value)


def _clock(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(COPENHAGEN).strftime("%H.%M")


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
        for pid, due in worklist.next_deadlines(session, p, list(patient_ids)).items()
    }


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
    if not p.has(*scoping.MEETING_ROLES):
        return None
    page = scheduling.list_meetings(session, p, cursor=None, limit=ROWS, patient_id=patient_id)
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
    rows = admissions_service.list_patient_admissions(session, p, patient_id)
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
