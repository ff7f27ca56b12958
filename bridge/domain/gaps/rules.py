"""The gap rules. Each is one set-based query; its docstring states the rule and threshold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from bridge.domain.gaps.care_rules import (
    discharge_without_plan,
    dual_admission,
    follow_up_overdue,
    notification_failed,
    plan_review_overdue,
    readmitted_within_30_days,
)
from bridge.domain.gaps.engine import (
    GapRule,
    ScanContext,
    detection,
    gap_rule,
)
from bridge.domain.gaps.models import SomaticScreening
from bridge.domain.identifiers import PSYCHOSIS_PREFIX
from bridge.domain.meetings.distribution import CLOSED_REASON
from bridge.domain.meetings.models import (
    ActionItem,
    ActionItemStatus,
    Distribution,
    DistributionStatus,
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    RecipientRole,
)
from bridge.domain.patients.models import Diagnosis, Enrollment, Patient
from bridge.domain.registry.models import BridgeNurse, Organisation, Staff

HIGH, MEDIUM, LOW = 3, 2, 1

_active = Enrollment.end_date.is_(None)

# Patient flags carry no nurse: the worklist finds them through the patient's active course,
# and a nurse stored on the flag would outlive a transfer and show it to the former nurse.


def _latest_final(version: Any = MinutesVersion) -> ColumnElement[bool]:
    """``version`` is final and no later final version of its meeting exists.

    An amendment still in draft leaves the earlier final version the one in force.
    """
    newer = aliased(MinutesVersion)
    return and_(
        version.status == MinutesStatus.FINAL,
        ~exists().where(
            newer.meeting_id == version.meeting_id,
            newer.status == MinutesStatus.FINAL,
            newer.version_no > version.version_no,
        ),
    )


@gap_rule("patient_without_gp", MEDIUM)
def patient_without_gp(ctx: ScanContext) -> Select:
    """An enrolled patient with no listed GP practice: nobody can act as coordinator (tovholder)
    and minutes have no GP to go to."""
    return (
        detection(
            patient_id=Patient.id,
            subject_type="patient",
            subject_id=Patient.id,
            message_da="Patienten har ingen tilknyttet praktiserende læge",
            message_en="The patient has no listed GP practice",
        )
        .join(Enrollment, and_(Enrollment.patient_id == Patient.id, _active))
        .where(Patient.gp_practice_id.is_(None))
    )


@gap_rule("no_nurse_assigned", HIGH)
def no_nurse_assigned(ctx: ScanContext) -> Select:
    """An active enrollment whose nurse has left (staff inactive) or is no longer an active
    bridge nurse."""
    return (
        detection(
            patient_id=Enrollment.patient_id,
            subject_type="enrollment",
            subject_id=Enrollment.id,
            message_da="Forløbet har ingen aktiv brobyggersygeplejerske",
            message_en="The course has no active bridge nurse",
        )
        .select_from(Enrollment)
        .join(Staff, Staff.id == Enrollment.nurse_id)
        .outerjoin(BridgeNurse, BridgeNurse.staff_id == Enrollment.nurse_id)
        .where(_active, or_(~Staff.active, BridgeNurse.staff_id.is_(None), ~BridgeNurse.active))
    )


@gap_rule("caseload_over_capacity", MEDIUM)
def caseload_over_capacity(ctx: ScanContext) -> Select:
    """A nurse with more active enrollments than her caseload capacity."""
    counts = (
        select(Enrollment.nurse_id.label("nurse_id"), func.count().label("n"))
        .where(_active)
        .group_by(Enrollment.nurse_id)
        .subquery()
    )
    return (
        detection(
            patient_id=None,
            nurse_id=BridgeNurse.staff_id,
            subject_type="nurse",
            subject_id=BridgeNurse.staff_id,
            message_da="Sygeplejerskens caseload overstiger kapaciteten",
            message_en="The nurse's caseload exceeds her capacity",
        )
        .join(counts, counts.c.nurse_id == BridgeNurse.staff_id)
        .where(counts.c.n > BridgeNurse.caseload_capacity)
    )


@gap_rule("somatic_screening_overdue", MEDIUM)
def somatic_screening_overdue(ctx: ScanContext) -> Select:
    """An enrolled patient with a psychosis diagnosis (ICD-10 F20-F29) and no somatic screening
    recorded in the last 12 months (configurable): somatic case finding is for life."""
    since = (ctx.now - timedelta(days=round(30.44 * ctx.config.screening_months))).date()
    psychosis = exists().where(
        Diagnosis.patient_id == Patient.id, Diagnosis.code.like(PSYCHOSIS_PREFIX + "%")
    )
    screened = exists().where(
        SomaticScreening.patient_id == Patient.id, SomaticScreening.screened_on >= since
    )
    return (
        detection(
            patient_id=Patient.id,
            subject_type="patient",
            subject_id=Patient.id,
            message_da="Somatisk screening mangler (psykose, over 12 måneder siden)",
            message_en="Somatic screening overdue (psychosis, none in 12 months)",
        )
        .join(Enrollment, and_(Enrollment.patient_id == Patient.id, _active))
        .where(psychosis, ~screened)
    )


# --- meetings and minutes -----------------------------------------------------------------------


@gap_rule("gp_minutes_not_received", HIGH)
def gp_minutes_not_received(ctx: ScanContext) -> Select:
    """Final minutes (the latest final version of a meeting) the GP has not received: the GP's
    distribution is blocked, or is not acknowledged within 2 working days of finalisation
    (configurable; this covers minutes never sent), or there is no GP distribution at all
    because the patient had no listed GP when the minutes were finalised."""
    cutoff = ctx.region_cutoff(
        NetworkMeeting.patient_id, "gp_ack_working_days", ctx.config.gp_ack_working_days
    )
    gp = and_(
        Distribution.minutes_version_id == MinutesVersion.id,
        Distribution.recipient_role == RecipientRole.GP,
    )
    return (
        detection(
            patient_id=NetworkMeeting.patient_id,
            subject_type="minutes_version",
            subject_id=MinutesVersion.id,
            message_da="Lægen har ikke kvitteret for referatet af netværksmødet",
            message_en="The GP has not acknowledged the network meeting minutes",
        )
        .select_from(MinutesVersion)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(
            _latest_final(),
            or_(
                ~exists().where(gp),
                exists().where(gp, Distribution.status == DistributionStatus.BLOCKED),
                and_(
                    MinutesVersion.finalised_at < cutoff,
                    exists().where(gp, Distribution.status != DistributionStatus.ACKNOWLEDGED),
                ),
            ),
        )
    )


@gap_rule("minutes_not_finalised", MEDIUM)
def minutes_not_finalised(ctx: ScanContext) -> Select:
    """A meeting held more than 3 working days ago (configurable) whose minutes were never
    finalised: still a draft, or not written at all."""
    cutoff = ctx.working_day_cutoff(ctx.config.minutes_finalise_working_days)
    final = exists().where(
        MinutesVersion.meeting_id == NetworkMeeting.id,
        MinutesVersion.status == MinutesStatus.FINAL,
    )
    return detection(
        patient_id=NetworkMeeting.patient_id,
        subject_type="network_meeting",
        subject_id=NetworkMeeting.id,
        message_da="Referatet af netværksmødet er ikke godkendt",
        message_en="The network meeting's minutes are not finalised",
    ).where(
        NetworkMeeting.status == MeetingStatus.HELD,
        NetworkMeeting.held_at < cutoff,
        ~final,
    )


@gap_rule("action_item_overdue", MEDIUM)
def action_item_overdue(ctx: ScanContext) -> Select:
    """An action item of the minutes in force (latest final version) that is still open after
    its due date (a Copenhagen date: due today is not yet overdue)."""
    return (
        detection(
            patient_id=NetworkMeeting.patient_id,
            subject_type="action_item",
            subject_id=ActionItem.id,
            message_da="En opgave fra netværksmødet er over fristen",
            message_en="An action item from the network meeting is past its due date",
        )
        .select_from(ActionItem)
        .join(MinutesVersion, MinutesVersion.id == ActionItem.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(
            ActionItem.status == ActionItemStatus.OPEN,
            ActionItem.due_date < ctx.today,
            _latest_final(),
        )
    )


@gap_rule("no_recent_network_meeting", LOW)
def no_recent_network_meeting(ctx: ScanContext) -> Select:
    """An active course that started more than 90 days ago (configurable) with no network
    meeting held in the last 90 days and none requested or planned."""
    days = ctx.config.meeting_interval_days
    started_before = ctx.today - timedelta(days=days)
    held_since = ctx.now - timedelta(days=days)
    recent_or_coming = exists().where(
        NetworkMeeting.patient_id == Enrollment.patient_id,
        or_(
            and_(NetworkMeeting.status == MeetingStatus.HELD, NetworkMeeting.held_at >= held_since),
            NetworkMeeting.status.in_([MeetingStatus.REQUESTED, MeetingStatus.PLANNED]),
        ),
    )
    return detection(
        patient_id=Enrollment.patient_id,
        subject_type="enrollment",
        subject_id=Enrollment.id,
        message_da="Intet netværksmøde de seneste 90 dage og intet planlagt",
        message_en="No network meeting in the last 90 days and none planned",
    ).where(_active, Enrollment.start_date < started_before, ~recent_or_coming)


@gap_rule("distribution_blocked_by_consent", MEDIUM)
def distribution_blocked_by_consent(ctx: ScanContext) -> Select:
    """A recipient of the minutes in force (latest final version) who could not be sent them for
    lack of the patient's consent (the distribution is blocked)."""
    return (
        detection(
            patient_id=NetworkMeeting.patient_id,
            subject_type="distribution",
            subject_id=Distribution.id,
            message_da="Referatet kunne ikke sendes til en modtager: samtykke mangler",
            message_en="The minutes could not go to a recipient: no consent",
        )
        .select_from(Distribution)
        .join(MinutesVersion, MinutesVersion.id == Distribution.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(
            Distribution.status == DistributionStatus.BLOCKED,
            # A closed recipient is its own gap (gp_practice_closed), not a missing consent.
            ~Distribution.blocked_reason.startswith(CLOSED_REASON, autoescape=True),
            _latest_final(),
        )
    )


@gap_rule("gp_practice_closed", HIGH)
def gp_practice_closed(ctx: ScanContext) -> Select:
    """An enrolled patient listed with a GP practice that has closed (its valid_to is before
    today): minutes and tasks to it are blocked until the nurse records the new practice."""
    return (
        detection(
            patient_id=Patient.id,
            subject_type="patient",
            subject_id=Patient.id,
            message_da="Egen læges praksis er lukket — vælg borgerens nye praksis",
            message_en="The GP practice has closed — choose the patient's new practice",
        )
        .join(Enrollment, and_(Enrollment.patient_id == Patient.id, _active))
        .join(Organisation, Organisation.id == Patient.gp_practice_id)
        .where(Organisation.valid_to < ctx.today)
    )


@gap_rule("meeting_request_not_scheduled", HIGH)
def meeting_request_not_scheduled(ctx: ScanContext) -> Select:
    """A requested network meeting not held (still requested or planned) within 5 working days
    of the request (configurable); a request made at discharge has its own deadline (hold_by),
    set by the regional agreement when it was made."""
    cutoff = ctx.region_cutoff(
        NetworkMeeting.patient_id,
        "meeting_request_working_days",
        ctx.config.meeting_request_working_days,
    )
    late = or_(
        NetworkMeeting.hold_by < ctx.now,
        and_(NetworkMeeting.hold_by.is_(None), NetworkMeeting.requested_at < cutoff),
    )
    return detection(
        patient_id=NetworkMeeting.patient_id,
        subject_type="network_meeting",
        subject_id=NetworkMeeting.id,
        message_da="Et ønsket netværksmøde er ikke holdt inden for fristen",
        message_en="A requested network meeting was not held in time",
    ).where(
        NetworkMeeting.requested_at.is_not(None),
        NetworkMeeting.status.in_([MeetingStatus.REQUESTED, MeetingStatus.PLANNED]),
        late,
    )


ALL_RULES: tuple[GapRule, ...] = (
    patient_without_gp,
    no_nurse_assigned,
    caseload_over_capacity,
    somatic_screening_overdue,
    gp_minutes_not_received,
    minutes_not_finalised,
    action_item_overdue,
    no_recent_network_meeting,
    distribution_blocked_by_consent,
    gp_practice_closed,
    meeting_request_not_scheduled,
    discharge_without_plan,
    follow_up_overdue,
    readmitted_within_30_days,
    dual_admission,
    plan_review_overdue,
    notification_failed,
)
