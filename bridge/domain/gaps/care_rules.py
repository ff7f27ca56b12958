"""Gap rules about stays, discharges, follow-up and the outbox: each one set-based query."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from bridge.domain.care.models import (
    Admission,
    FollowUpStatus,
    FollowUpTask,
    ResponsibleKind,
    StatutoryPlan,
)
from bridge.domain.care.queries import dual_admissions_select, readmissions_select
from bridge.domain.care.rules import HOME_DESTINATIONS
from bridge.domain.gaps.engine import (
    ScanContext,
    detection,
    gap_rule,
    patient_region_today,
)
from bridge.domain.notifications.models import Channel, Notification, NotificationStatus
from bridge.domain.patients.models import Enrollment

HIGH, MEDIUM, LOW = 3, 2, 1

_active = Enrollment.end_date.is_(None)

# Patient flags carry no nurse: the worklist finds them through the patient's active course,
# and a nurse stored on the flag would outlive a transfer and show it to the former nurse.


# --- admissions, discharges and follow-up -------------------------------------------------------


@gap_rule("discharge_without_plan", HIGH)
def discharge_without_plan(ctx: ScanContext) -> Select:
    """A discharge home or to a housing facility (the discharges that start a follow-up plan,
    care.rules.generates_follow_up) of a patient in a course on the day of discharge, with no
    open or done follow-up task for that stay."""
    day = func.date(Admission.discharged_at)
    enrolled = exists().where(
        Enrollment.patient_id == Admission.patient_id,
        Enrollment.start_date <= day,
        or_(Enrollment.end_date.is_(None), Enrollment.end_date >= day),
    )
    planned = exists().where(
        FollowUpTask.admission_id == Admission.id,
        FollowUpTask.status.in_([FollowUpStatus.OPEN, FollowUpStatus.DONE]),
    )
    conditions = [
        Admission.discharged_at.is_not(None),
        Admission.destination.in_(sorted(HOME_DESTINATIONS)),
        enrolled,
        ~planned,
    ]
    # A region may give the plan some working days (its discharge threshold); elsewhere the
    # gap is there from the discharge on.
    if any(s.discharge_follow_up_working_days for s in ctx.regions.values()):
        grace = {
            region_id: ctx.working_day_cutoff(days, settings.calendar)
            for region_id, settings in ctx.regions.items()
            if (days := settings.discharge_follow_up_working_days)
        }
        cutoff = case(
            grace, value=patient_region_today(Admission.patient_id, ctx.today), else_=ctx.now
        )
        conditions.append(Admission.discharged_at < cutoff)
    return detection(
        patient_id=Admission.patient_id,
        subject_type="admission",
        subject_id=Admission.id,
        message_da="Udskrivelse uden opfølgningsplan",
        message_en="Discharge without a follow-up plan",
    ).where(*conditions)


@gap_rule("follow_up_overdue", HIGH)
def follow_up_overdue(ctx: ScanContext) -> Select:
    """An open follow-up task past its deadline; also an open GP task with no responsible
    practice (the patient had no listed GP), which nobody will ever do."""
    return detection(
        patient_id=FollowUpTask.patient_id,
        subject_type="follow_up_task",
        subject_id=FollowUpTask.id,
        message_da="Opfølgningsopgave er over fristen eller har ingen ansvarlig læge",
        message_en="Follow-up task overdue or without a responsible GP",
    ).where(
        FollowUpTask.status == FollowUpStatus.OPEN,
        or_(
            FollowUpTask.due_at < ctx.now,
            and_(
                FollowUpTask.responsible_kind == ResponsibleKind.GP,
                FollowUpTask.responsible_organisation_id.is_(None),
            ),
        ),
    )


@gap_rule("readmitted_within_30_days", MEDIUM)
def readmitted_within_30_days(ctx: ScanContext) -> Select:
    """An admission beginning within 30 days (configurable) of a discharge of the same patient
    (not a transfer or death), flagged while the readmission began in the last 30 days
    (readmission_flag_days): a recent readmission calls for a look at the discharge plan."""
    pairs = readmissions_select(ctx.dialect, ctx.config.readmission_days).order_by(None).subquery()
    readmission_id = list(pairs.c)[2]
    readmission = aliased(Admission)
    since = ctx.now - timedelta(days=ctx.config.readmission_flag_days)
    return detection(
        patient_id=readmission.patient_id,
        subject_type="admission",
        subject_id=readmission.id,
        message_da="Genindlagt inden for 30 dage efter udskrivelse",
        message_en="Readmitted within 30 days of discharge",
    ).where(
        readmission.id.in_(select(readmission_id)),
        readmission.admitted_at >= since,
    )


@gap_rule("dual_admission", HIGH)
def dual_admission(ctx: ScanContext) -> Select:
    """A psychiatric stay that overlaps a somatic stay of the same patient (dobbeltindlagt)
    while at least one of the two is still open, so the nurse can join the two teams up; the
    flag is on the psychiatric stay and closes once the patient has left both."""
    pairs = dual_admissions_select().order_by(None).subquery()
    _, psych_id, somatic_id = list(pairs.c)
    psych, somatic = aliased(Admission), aliased(Admission)
    still_in = (
        select(psych_id)
        .select_from(pairs)
        .join(psych, psych.id == psych_id)
        .join(somatic, somatic.id == somatic_id)
        .where(or_(psych.discharged_at.is_(None), somatic.discharged_at.is_(None)))
    )
    admission = aliased(Admission)
    return detection(
        patient_id=admission.patient_id,
        subject_type="admission",
        subject_id=admission.id,
        message_da="Indlagt i psykiatrien og somatikken på samme tid",
        message_en="Admitted to psychiatry and somatic care at the same time",
    ).where(admission.id.in_(still_in))


@gap_rule("plan_review_overdue", MEDIUM)
def plan_review_overdue(ctx: ScanContext) -> Select:
    """A statutory plan (udskrivningsaftale, koordinationsplan, KIP) past its next review date
    (a Copenhagen date: due today is not yet overdue). Only the patient's latest plan of each
    kind counts: a newer plan replaces the older one."""
    newer = aliased(StatutoryPlan)
    newer_stay = aliased(Admission)
    replaced = exists().where(
        newer.kind == StatutoryPlan.kind,
        newer_stay.id == newer.admission_id,
        newer_stay.patient_id == Admission.patient_id,
        or_(
            newer.agreed_on > StatutoryPlan.agreed_on,
            and_(newer.agreed_on == StatutoryPlan.agreed_on, newer.id > StatutoryPlan.id),
        ),
    )
    return (
        detection(
            patient_id=Admission.patient_id,
            subject_type="statutory_plan",
            subject_id=StatutoryPlan.id,
            message_da="Planen skulle have været revideret",
            message_en="The plan is past its review date",
        )
        .select_from(StatutoryPlan)
        .join(Admission, Admission.id == StatutoryPlan.admission_id)
        .where(StatutoryPlan.next_review_date < ctx.today, ~replaced)
    )


# --- notifications ------------------------------------------------------------------------------


@gap_rule("notification_failed", MEDIUM)
def notification_failed(ctx: ScanContext) -> Select:
    """A notification that gave up: refused for good (failed), retried until its maximum age
    (dead), or a MedCom (FHIR) message resent as often as the policy allows with no
    acknowledgement, which the dispatcher leaves ``sent`` with no next attempt.

    The gap closes when the recipient acknowledges the same event on any channel (a late
    MedCom acknowledgement, or reading it in the inbox): then they have the information.
    """
    unacknowledged = and_(
        Notification.status == NotificationStatus.SENT,
        Notification.channel == Channel.FHIR,
        Notification.next_attempt_at.is_(None),
    )
    same_event = aliased(Notification)
    acknowledged = exists().where(
        same_event.event_key == Notification.event_key,
        same_event.recipient_organisation_id == Notification.recipient_organisation_id,
        same_event.status == NotificationStatus.ACKNOWLEDGED,
    )
    return detection(
        patient_id=Notification.patient_id,
        subject_type="notification",
        subject_id=Notification.id,
        message_da="En meddelelse kunne ikke leveres",
        message_en="A notification could not be delivered",
    ).where(
        or_(
            Notification.status.in_([NotificationStatus.FAILED, NotificationStatus.DEAD]),
            unacknowledged,
        ),
        ~acknowledged,
    )


#: Every rule of this module, for the composition (bridge/bootstrap.py) to register.
