"""The worklist of flags and what a nurse does with them; somatic screenings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from bridge.domain import audit
from bridge.domain.access import Principal, built_per_caller, patient_visible
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.care.models import Admission, FollowUpTask
from bridge.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from bridge.domain.gaps.models import Flag, FlagStatus, SomaticScreening
from bridge.domain.jobruns import JobRun
from bridge.domain.meetings.models import ActionItem, MinutesVersion, NetworkMeeting
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.patients.models import Enrollment, Patient
from bridge.domain.patients.services import write_patient_scoped
from bridge.domain.registry.models import Role

LIVE = (FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED, FlagStatus.SNOOZED)


_OTHER_FLAG = aliased(Flag)


def _visible_flags(p: Principal) -> Select[Flag]:
    """Flags on patients the caller may see, and flags about the caller herself (caseload)."""
    if p.has(Role.ADMIN):
        return select(Flag)
    # Two index-driven id lists (by the visible patients, by the nurse) instead of one OR that
    # makes PostgreSQL test every live flag: at national size there are >100,000 of them.
    f = _OTHER_FLAG
    visible = select(Patient.id).where(patient_visible(p))
    ids = union_all(
        select(f.id).where(f.patient_id.in_(visible)),
        select(f.id).where(f.nurse_id == p.staff_id),
    )
    return select(Flag).where(Flag.id.in_(ids))


def needs_attention(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Open or acknowledged flags, and snoozed ones whose snooze has run out."""
    return or_(
        Flag.status.in_([FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED]),
        and_(Flag.status == FlagStatus.SNOOZED, Flag.snoozed_until <= now),
    )


_NURSE: BindParameter[int] = bindparam("nurse_id")
# The worklist's filters, each with its value bound (``live`` has none): a caller's statement for
# one combination is built once (``_flag_list``) and its values given per request.
_FLAG_FILTERS: dict[str, ColumnElement[bool]] = {
    "status": Flag.status == bindparam("status"),
    "live": Flag.status.in_(LIVE),
    "attention_at": needs_attention(bindparam("attention_at", type_=Flag.snoozed_until.type)),
    "rule": Flag.rule == bindparam("rule"),
    "patient_id": Flag.patient_id == bindparam("patient_id"),
    "detected_before": Flag.first_detected_at < bindparam("detected_before"),
    # Hers, or about the patients of her active courses.
    "nurse_id": or_(
        Flag.nurse_id == _NURSE,
        exists().where(
            Enrollment.patient_id == Flag.patient_id,
            Enrollment.end_date.is_(None),
            Enrollment.nurse_id == _NURSE,
        ),
    ),
}
_FLAG_ORDER = [
    SortKey(Flag.severity, "severity", descending=True),
    SortKey(Flag.first_detected_at, "first_detected_at"),
    SortKey(Flag.id, "id"),
]


@built_per_caller
def _flag_list(p: Principal, filters: tuple[str, ...]) -> Select[Flag]:
    return _visible_flags(p).where(*(_FLAG_FILTERS[f] for f in filters))


def list_flags(
    session: Session,
    p: Principal,
    *,
    status: str | None,
    rule: str | None,
    patient_id: int | None,
    nurse_id: int | None,
    cursor: str | None,
    limit: int,
    attention_at: datetime | None = None,
    detected_before: datetime | None = None,
) -> Page[Flag]:
    """The worklist: most severe first, then oldest; live flags unless a status is asked for.

    With ``attention_at`` (and no status), only the flags needing attention at that moment:
    snoozed ones once their snooze has run out.
    """
    params: dict[str, Any] = {}
    if status:
        params["status"] = status
    elif attention_at is not None:
        params["attention_at"] = attention_at
    if rule:
        params["rule"] = rule
    if patient_id:
        params["patient_id"] = patient_id
    if detected_before is not None:
        params["detected_before"] = detected_before
    if nurse_id:
        params["nurse_id"] = nurse_id
    filters = tuple(params) if status or attention_at is not None else ("live", *params)
    stmt = _flag_list(p, filters)
    page = paginate(session, stmt, _FLAG_ORDER, cursor=cursor, limit=limit, params=params)
    for flag in page.items:
        if flag.patient_id is not None:
            audit.record(session, p, AuditAction.LISTED, "flag", flag.id, flag.patient_id)
    return page


def get_flag(session: Session, p: Principal, flag_id: int) -> Flag:
    """One flag the caller may see."""
    flag = session.scalar(_visible_flags(p).where(Flag.id == flag_id))
    if flag is None:
        raise NotFound("no such flag")
    if flag.patient_id is not None:
        audit.record(session, p, AuditAction.READ, "flag", flag.id, flag.patient_id)
    return flag


def act_on_flags(
    session: Session, p: Principal, flag_ids: list[int], data: dict[str, Any]
) -> list[Flag]:
    """The same action on several flags (the worklist's bulk acknowledge or snooze): all of
    them or none; one query reads them, and each is changed and noted as ``act_on_flag`` does."""
    wanted = set(flag_ids)
    if not wanted:
        raise RuleViolation("choose at least one flag", field="flags")
    flags = list(session.scalars(_visible_flags(p).where(Flag.id.in_(wanted)).order_by(Flag.id)))
    if len(flags) != len(wanted):
        raise NotFound("no such flag")
    return [act_on_flag(session, p, flag, data) for flag in flags]


def act_on_flag(session: Session, p: Principal, flag: Flag, data: dict[str, Any]) -> Flag:
    """Acknowledge (with a note), snooze (until a time) or resolve (with a reason) a flag."""
    if not p.has(Role.NURSE, Role.ADMIN):
        raise Forbidden("only nurses and admins work the flag list")
    if flag.status == FlagStatus.RESOLVED:
        raise Conflict("the flag is resolved", allowed=[])
    action, now = data["action"], utcnow()
    if action == "acknowledge":
        flag.status = FlagStatus.ACKNOWLEDGED
        flag.acknowledged_by_id, flag.acknowledged_at = p.staff_id, now
        flag.note = data.get("note")
    elif action == "snooze":
        until: datetime | None = data.get("until")
        if until is None or until <= now:
            raise RuleViolation("snooze needs a time in the future", field="until")
        flag.status, flag.snoozed_until = FlagStatus.SNOOZED, until
        flag.note = data.get("note", flag.note)
    elif action == "resolve":
        if not data.get("reason"):
            raise RuleViolation("resolving by hand needs a reason", field="reason")
        flag.status = FlagStatus.RESOLVED
        flag.resolved_at, flag.resolved_by_id, flag.resolution = now, p.staff_id, data["reason"]
    if flag.patient_id is not None:
        audit.record(session, p, AuditAction.UPDATE, "flag", flag.id, flag.patient_id)
    session.flush()
    return flag


def record_screening(
    session: Session, p: Principal, patient_id: int, screened_on: date, note: str | None
) -> SomaticScreening:
    """Record a somatic screening of the patient."""
    write_patient_scoped(
        session,
        p,
        patient_id,
        "somatic_screening",
        AuditAction.CREATE,
        (Role.ADMIN, Role.NURSE, Role.GP, Role.HOSPITAL),
    )
    if screened_on > date.today():
        raise RuleViolation("a screening cannot be in the future", field="screened_on")
    screening = SomaticScreening(
        patient_id=patient_id, screened_on=screened_on, note=note, recorded_by_id=p.staff_id
    )
    session.add(screening)
    session.flush()
    return screening


def list_job_runs(
    session: Session, p: Principal, *, job: str | None, cursor: str | None, limit: int
) -> Page[JobRun]:
    """Recorded job runs, newest first (admin)."""
    p.require(Role.ADMIN)
    stmt = select(JobRun)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return paginate(
        session, stmt, [SortKey(JobRun.id, "id", descending=True)], cursor=cursor, limit=limit
    )


def live_flag_counts(
    session: Session, p: Principal, patient_ids: list[int], now: datetime
) -> dict[int, tuple[int, int]]:
    """(count, highest severity) of each patient's flags needing attention now (one query).

    Snoozed flags count again once their time is up.
    """
    if not patient_ids:
        return {}
    rows = session.execute(
        select(Flag.patient_id, func.count(), func.max(Flag.severity))
        .join(Patient, Patient.id == Flag.patient_id)
        .where(Flag.patient_id.in_(patient_ids), patient_visible(p), needs_attention(now))
        .group_by(Flag.patient_id)
    )
    return {pid: (n, sev) for pid, n, sev in rows if pid is not None}


@dataclass(frozen=True)
class FlagSubject:
    """What a flag is about, enough to name it: a task's title and deadline, a meeting's time.

    ``kind`` is the flag's subject type; ``when`` is the subject's own moment (a deadline, a
    meeting's start, an admission); ``meeting_id``/``admission_id`` say where to act on it.
    """

    kind: str
    title: str | None = None
    when: date | datetime | None = None
    meeting_id: int | None = None
    admission_id: int | None = None


def flag_subjects(session: Session, flags: list[Flag]) -> dict[int, FlagSubject]:
    """The subject of each flag, by flag id: one query per kind of subject among the flags
    (never per flag). The flags were read through ``list_flags``, so their patients are visible.
    """
    by_kind: dict[str, set[int]] = {}
    for f in flags:
        by_kind.setdefault(f.subject_type, set()).add(f.subject_id)
    found: dict[tuple[str, int], FlagSubject] = {}
    if ids := by_kind.get("follow_up_task"):
        rows = session.execute(
            select(FollowUpTask.id, FollowUpTask.title, FollowUpTask.due_at,
                   FollowUpTask.admission_id).where(FollowUpTask.id.in_(ids))
        )  # fmt: skip
        for i, title, due, adm in rows:
            found["follow_up_task", i] = FlagSubject("follow_up_task", title, due, admission_id=adm)
    if ids := by_kind.get("action_item"):
        rows = session.execute(
            select(ActionItem.id, ActionItem.description, ActionItem.due_date,
                   MinutesVersion.meeting_id)
            .join(MinutesVersion, MinutesVersion.id == ActionItem.minutes_version_id)
            .where(ActionItem.id.in_(ids))
        )  # fmt: skip
        for i, text, due, meeting in rows:
            found["action_item", i] = FlagSubject("action_item", text, due, meeting_id=meeting)
    meeting_ids = set(by_kind.get("network_meeting", ()))
    if ids := by_kind.get("minutes_version"):
        versions = dict(
            session.execute(
                select(MinutesVersion.id, MinutesVersion.meeting_id).where(
                    MinutesVersion.id.in_(ids)
                )
            ).all()
        )
        meeting_ids |= set(versions.values())
    else:
        versions = {}
    if meeting_ids:
        meeting_rows = session.execute(
            select(NetworkMeeting.id, NetworkMeeting.scheduled_start, NetworkMeeting.hold_by,
                   NetworkMeeting.requested_at).where(NetworkMeeting.id.in_(meeting_ids))
        )  # fmt: skip
        meetings: dict[int, datetime | None] = {
            i: start or hold_by or requested for i, start, hold_by, requested in meeting_rows
        }
        for i in by_kind.get("network_meeting", ()):
            found["network_meeting", i] = FlagSubject("network_meeting", None, meetings.get(i),
                                                      meeting_id=i)  # fmt: skip
        for v, m in versions.items():
            found["minutes_version", v] = FlagSubject("minutes_version", None, meetings.get(m),
                                                      meeting_id=m)  # fmt: skip
    if ids := by_kind.get("admission"):
        admissions = session.execute(
            select(Admission.id, Admission.admitted_at).where(Admission.id.in_(ids))
        )
        for i, admitted in admissions:
            found["admission", i] = FlagSubject("admission", None, admitted, admission_id=i)
    return {
        f.id: found.get((f.subject_type, f.subject_id)) or FlagSubject(f.subject_type)
        for f in flags
    }


@dataclass(frozen=True)
class FlagFilterChoices:
    """What the worklist can be narrowed to: the rules and the patients of the live flags."""

    rules: list[tuple[str, str, str]]  # rule, Danish and English message
    patients: list[tuple[int, str]]  # id, name


def flag_filter_choices(session: Session, p: Principal) -> FlagFilterChoices:
    """The rules and patients among the caller's live flags (two queries; each patient named is
    noted in the access log)."""
    live = _visible_flags(p).where(Flag.status.in_(LIVE)).subquery()
    rules = session.execute(
        select(live.c.rule, func.min(live.c.message_da), func.min(live.c.message_en))
        .group_by(live.c.rule)
        .order_by(live.c.rule)
    ).all()
    patients = session.execute(
        select(Patient.id, Patient.name)
        .where(Patient.id.in_(select(live.c.patient_id).where(live.c.patient_id.is_not(None))))
        .order_by(Patient.name)
    ).all()
    for patient_id, _name in patients:
        audit.record(session, p, AuditAction.LISTED, "flag", None, patient_id)
    return FlagFilterChoices(
        rules=[(r, da, en) for r, da, en in rules], patients=[(i, n) for i, n in patients]
    )
