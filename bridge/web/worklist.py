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
from bridge.domain.calendar import COPENHAGEN, DEFAULT_CALENDAR
from bridge.domain.care import follow_ups as follow_ups_service
from bridge.domain.care import worklist
from bridge.domain.care.models import FollowUpRecord, FollowUpStatus, FollowUpTask
from bridge.domain.gaps import services as gaps
from bridge.domain.gaps.models import Flag
from bridge.domain.meetings import scoping
from bridge.domain.meetings import worklist as worklist_service
from bridge.domain.meetings.models import MeetingStatus, MinutesStatus
from bridge.domain.patients.models import Patient
from bridge.web.blueprint import current_language
from bridge.web.formatting import dk_date, dk_datetime, dk_due
from bridge.web.labels import _N
from bridge.web.sections import (
    Section,
    SectionItem,
)

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


def _moment(when: date | datetime | None) -> datetime | None:
    """A subject's time when it is a moment (a task's deadline), not a day."""
    return when if isinstance(when, datetime) else None


def _before(when: date | datetime | None, now: datetime) -> bool:
    moment = _moment(when)
    return moment is not None and moment < now


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


def flag_age(since: datetime, now: datetime) -> str:
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


def _task_href(t: FollowUpTask | FollowUpRecord) -> str:
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
            title=_("Network meeting at %(time)s", time=dk_clock(m.scheduled_start)),
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
        return _("Task “%(title)s”, due %(when)s", title=s.title, when=dk_due(_moment(s.when)))
    if s.kind == "action_item" and s.title:
        if s.when:
            return _("Action item “%(title)s”, due %(when)s", title=s.title, when=dk_when(s.when))
        return _("Action item “%(title)s”", title=s.title)
    if s.kind in ("network_meeting", "minutes_version") and s.when:
        return _("Network meeting %(when)s", when=dk_when(s.when, with_time=True))
    if s.kind == "admission" and s.when:
        return _("Admission %(when)s", when=dk_when(s.when))
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
                            age=flag_age(f.first_detected_at, now),
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
        if not (f.subject_type == "follow_up_task" and _before(subjects[f.id].when, now))
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
        if m.scheduled_start is None or local_day(m.scheduled_start) != today
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
                title=_(
                    "Network meeting %(when)s", when=dk_when(m.scheduled_start, with_time=True)
                ),
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
                title=_("Discharged %(when)s", when=dk_when(a.discharged_at)),
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


def dk_when(value: date | datetime | None, with_time: bool = False) -> str:
    if with_time and isinstance(value, datetime):
        return dk_datetime(value)
    return dk_date(value)


def dk_clock(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(COPENHAGEN).strftime("%H.%M")


# --- Caseload -----------------------------------------------------------------------------------


# --- Patient page -------------------------------------------------------------------------------


# --- Timeline -----------------------------------------------------------------------------------
