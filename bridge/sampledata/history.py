"""Three years of history for the synthetic data set: stays, plans, follow-ups, meetings, outbox.

``STEPS``, run in order after the registry and the patients. Everything is drawn
from the world's seeded random generator in a fixed order, so one seed gives one data set.
The shares below are guesses at a regional psychiatry's year, chosen so that every gap the
scan and the worklists look for occurs in a few percent of the rows, not in none or in all.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.care.models import (
    Admission,
    Destination,
    FollowUpCondition,
    FollowUpStatus,
    FollowUpTask,
    FollowUpTemplate,
    PlanEffort,
    ResponsibleKind,
    StatutoryPlan,
    StatutoryPlanKind,
    StatutoryPlanParticipant,
)
from bridge.domain.care.rules import task_deadline
from bridge.domain.care.templates import seed_follow_up_templates
from bridge.domain.meetings.distribution import (
    ConsentFact,
)
from bridge.domain.patients.models import Consent, ConsentScope
from bridge.domain.registry.models import OrganisationKind, Specialty
from bridge.sampledata.world import SyntheticWorld, bulk_insert, next_id

YEARS = 3
DAY = timedelta(days=1)
# Discharges happen in daytime, on the hour: few distinct instants keep the deadline cache small.
DISCHARGE_HOURS = (8, 9, 10, 11, 12, 13, 14)


@lru_cache(maxsize=200_000)
def _deadline(discharged_at: datetime, working_days: int | None, hours: int | None) -> datetime:
    return task_deadline(discharged_at, working_days=working_days, hours=hours)


def _instant(world: SyntheticWorld, earliest: datetime, latest: datetime) -> datetime:
    """A daytime instant (UTC, on the hour) between two moments."""
    days = max(0, (latest - earliest).days)
    day = (earliest + timedelta(days=world.rng.randrange(days + 1))).replace(
        minute=0, second=0, microsecond=0
    )
    return day.replace(hour=world.rng.choice(DISCHARGE_HOURS))


def _uuid(world: SyntheticWorld) -> str:
    return str(uuid.UUID(int=world.rng.getrandbits(128), version=4))


# --- consents ---------------------------------------------------------------------------------


def consents(session: Session, world: SyntheticWorld) -> None:
    """Most patients let Bridge share minutes with their municipality; a few withdrew."""
    rng, now = world.rng, world.now
    consent_id = next_id(session, Consent)
    rows: list[dict[str, Any]] = []
    # The consents as the distribution rule reads them, per patient (for the minutes).
    consent_of: dict[int, Any] = {}
    world.extra["municipality_consent"] = consent_of
    for p in world.patients:
        if rng.random() >= 0.75:
            continue
        given = now - timedelta(days=rng.randrange(400, YEARS * 365 + 60))
        withdrawn = given + timedelta(days=rng.randrange(30, 300)) if rng.random() < 0.04 else None
        rows.append(
            {
                "id": consent_id,
                "patient_id": p["id"],
                "recipient_kind": OrganisationKind.MUNICIPALITY,
                "scope": ConsentScope.MINUTES if rng.random() < 0.7 else ConsentScope.ALL,
                "given_at": given,
                "withdrawn_at": withdrawn,
                "note": "Mundtligt samtykke, noteret i journalen",
            }
        )
        consent_of.setdefault(p["id"], []).append(
            ConsentFact(
                id=consent_id,
                scope=rows[-1]["scope"],
                given_at=given,
                withdrawn_at=withdrawn,
                kind=OrganisationKind.MUNICIPALITY,
            )
        )
        consent_id += 1
    world.counts["consents"] = bulk_insert(session, Consent, rows)


# --- admissions and discharges ----------------------------------------------------------------


def _departments(world: SyntheticWorld, region: int, specialty: Specialty) -> list[int]:
    # The registry made 3 hospitals x 3 departments per specialty per region, region by region.
    i = world.regions.index(region)
    pool = (
        world.psych_departments if specialty == Specialty.PSYCHIATRY else world.somatic_departments
    )
    return pool[i * 9 : (i + 1) * 9]


def admissions(session: Session, world: SyntheticWorld) -> None:
    """Psychiatric stays for about half the patients (some readmitted within 30 days), somatic
    stays for some, a few overlapping (dual), and a couple of percent still admitted."""
    rng, now = world.rng, world.now
    start_of_history = now - timedelta(days=YEARS * 365)
    admission_id = next_id(session, Admission)
    rows: list[dict[str, Any]] = []
    for p in world.patients:
        psych = _departments(world, p["region"], Specialty.PSYCHIATRY)
        somatic = _departments(world, p["region"], Specialty.SOMATIC)
        stays: list[tuple[Specialty, int, datetime, datetime | None]] = []
        r = rng.random()
        n_psych = 0 if r < 0.45 else 1 if r < 0.82 else 2 if r < 0.95 else 3
        cursor = start_of_history + timedelta(days=rng.randrange(0, 400))
        for k in range(n_psych):
            if k and rng.random() < 0.25:  # readmitted within 30 days of the last discharge
                admitted = cursor + timedelta(days=rng.randrange(2, 29))
            else:
                admitted = cursor + timedelta(days=rng.randrange(40, 300))
            admitted = admitted.replace(minute=0, second=0, microsecond=0)
            if admitted >= now - 2 * DAY:
                break
            length = timedelta(days=rng.randrange(3, 45), hours=rng.randrange(0, 6))
            ends = admitted + length
            discharged: datetime | None
            if ends >= now or (k == n_psych - 1 and rng.random() < 0.03):
                discharged = None  # still admitted
            else:
                discharged = ends.replace(hour=rng.choice(DISCHARGE_HOURS))
                if discharged <= admitted:
                    discharged = admitted + timedelta(hours=4)
            stays.append((Specialty.PSYCHIATRY, rng.choice(psych), admitted, discharged))
            if discharged is None:
                break
            cursor = discharged
        if rng.random() < 0.15:
            if stays and stays[0][3] is not None and rng.random() < 0.4:
                # dual: a somatic stay overlapping a psychiatric one
                admitted = stays[0][2] + timedelta(days=1)
                discharged = admitted + timedelta(days=rng.randrange(1, 5))
            else:
                admitted = _instant(world, start_of_history, now - 20 * DAY)
                discharged = admitted + timedelta(days=rng.randrange(1, 10))
            stays.append((Specialty.SOMATIC, rng.choice(somatic), admitted, discharged))
        for specialty, department, admitted, discharged in stays:
            if discharged is None:
                destination = None
            else:
                d = rng.random()
                destination = (
                    Destination.HOME
                    if d < 0.85
                    else Destination.HOUSING_FACILITY
                    if d < 0.95
                    else Destination.OTHER_HOSPITAL
                )
            done = discharged is not None
            row = {
                "id": admission_id,
                "patient_id": p["id"],
                "department_id": department,
                "specialty": specialty,
                "acute": rng.random() < 0.6,
                "admitted_at": admitted,
                "discharged_at": discharged,
                "destination": destination,
                "discharge_summary": "Udskrevet efter plan" if done else None,
                "rehabilitation_plan_issued": done
                and specialty == Specialty.SOMATIC
                and rng.random() < 0.3,
                "network_meeting_requested": done
                and specialty == Specialty.PSYCHIATRY
                and rng.random() < 0.2,
                "created_at": admitted,
                "version": 2 if done else 1,
            }
            rows.append(row)
            world.admissions.append({**row, "region": p["region"], "patient": p})
            admission_id += 1
    world.counts["admissions"] = bulk_insert(session, Admission, rows)


# --- statutory plans --------------------------------------------------------------------------


def statutory_plans(session: Session, world: SyntheticWorld) -> None:
    """A plan for four in ten psychiatric discharges; the newest plans have a review date,
    some of them already past."""
    rng, today = world.rng, world.now.date()
    plan_id = next_id(session, StatutoryPlan)
    effort_id = next_id(session, PlanEffort)
    plans, participants, efforts = [], [], []
    for a in world.admissions:
        if a["specialty"] != Specialty.PSYCHIATRY or a["discharged_at"] is None:
            continue
        if rng.random() >= 0.4:
            continue
        p = a["patient"]
        agreed: date = a["discharged_at"].date() - timedelta(days=rng.randrange(0, 3))
        kind = rng.choice(list(StatutoryPlanKind))
        recent = (today - agreed).days < 200
        review = None
        if recent:
            review = agreed + timedelta(days=rng.randrange(90, 180))
            if rng.random() < 0.15 and agreed + timedelta(days=30) < today:
                review = agreed + timedelta(days=30)  # past review: a worklist item
        plans.append(
            {
                "id": plan_id,
                "admission_id": a["id"],
                "kind": kind,
                "agreed_on": agreed,
                "patient_took_part": kind != StatutoryPlanKind.KOORDINATIONSPLAN,
                "goals": "Stabil bolig og fast kontakt til egen læge",
                "next_review_date": review,
                "created_at": a["discharged_at"],
                "version": 1,
            }
        )
        owners = [p["municipality_id"]] + ([p["gp_practice_id"]] if p["gp_practice_id"] else [])
        for org in owners:
            participants.append({"plan_id": plan_id, "organisation_id": org})
        efforts.append(
            {
                "id": effort_id,
                "plan_id": plan_id,
                "description": "Bostøtte to gange om ugen",
                "responsible_organisation_id": p["municipality_id"],
            }
        )
        effort_id += 1
        plan_id += 1
    world.counts["statutory_plans"] = bulk_insert(session, StatutoryPlan, plans)
    bulk_insert(session, StatutoryPlanParticipant, participants)
    bulk_insert(session, PlanEffort, efforts)


# --- follow-up tasks --------------------------------------------------------------------------


def follow_up_tasks(session: Session, world: SyntheticWorld) -> None:
    """The tasks the region's templates make for each discharge: most done in time, a few
    done late, a few percent open past their deadline (overdue), some cancelled."""
    rng, now = world.rng, world.now
    seed_follow_up_templates(session)
    session.flush()
    templates: dict[tuple[int, Specialty], list[FollowUpTemplate]] = {}
    for t in session.scalars(
        select(FollowUpTemplate).where(FollowUpTemplate.active).order_by(FollowUpTemplate.id)
    ):
        templates.setdefault((t.region_id, t.applies_to), []).append(t)
    nurse_of = {e["patient_id"]: e["nurse_id"] for e in world.enrollments}
    task_id = next_id(session, FollowUpTask)
    rows: list[dict[str, Any]] = []
    for a in world.admissions:
        discharged = a["discharged_at"]
        if discharged is None:
            continue
        p = a["patient"]
        nurse = nurse_of[p["id"]]
        holds = {
            FollowUpCondition.ALWAYS: True,
            FollowUpCondition.DISCHARGE_HOME: a["destination"] == Destination.HOME,
            FollowUpCondition.REHABILITATION_PLAN_ISSUED: a["rehabilitation_plan_issued"],
            FollowUpCondition.NETWORK_MEETING_REQUESTED: a["network_meeting_requested"],
        }
        owner = {
            ResponsibleKind.NURSE: p["region"],
            ResponsibleKind.MUNICIPALITY: p["municipality_id"],
            ResponsibleKind.GP: p["gp_practice_id"],
            ResponsibleKind.HOSPITAL: a["department_id"],
            ResponsibleKind.PRACTISING_PSYCHIATRIST: None,
        }
        for t in templates.get((p["region"], a["specialty"]), []):
            if not holds[t.condition]:
                continue
            due = _deadline(discharged, t.deadline_working_days, t.deadline_hours)
            row = {
                "id": task_id,
                "patient_id": p["id"],
                "admission_id": a["id"],
                "template_id": t.id,
                "title": t.title,
                "responsible_kind": t.responsible_kind,
                "responsible_organisation_id": owner[t.responsible_kind],
                "responsible_staff_id": nurse
                if t.responsible_kind == ResponsibleKind.NURSE
                else None,
                "due_at": due,
                "status": FollowUpStatus.OPEN,
                "done_by_id": None,
                "done_at": None,
                "cancelled_by_id": None,
                "cancelled_at": None,
                "cancel_reason": None,
                "created_by_id": nurse,
                "created_at": discharged,
                "version": 1,
            }
            r = rng.random()
            if due < now:
                if r < 0.88:  # done in time
                    row.update(status=FollowUpStatus.DONE, done_at=due - (due - discharged) / 2)
                elif r < 0.94:  # done late
                    row.update(status=FollowUpStatus.DONE, done_at=due + timedelta(days=2))
                elif r < 0.96:
                    row.update(status=FollowUpStatus.CANCELLED, cancelled_at=due - DAY)
                # else: still open past its deadline
            elif r < 0.3:
                row.update(status=FollowUpStatus.DONE, done_at=min(now, discharged + DAY))
            if row["status"] == FollowUpStatus.DONE:
                row.update(done_by_id=nurse, done_at=min(row["done_at"], now), version=2)
            elif row["status"] == FollowUpStatus.CANCELLED:
                row.update(cancelled_by_id=nurse, cancel_reason="Genindlagt før opgaven", version=2)
            rows.append(row)
            task_id += 1
    world.counts["follow_up_tasks"] = bulk_insert(session, FollowUpTask, rows)


# --- network meetings, minutes, action items, distribution -----------------------------------


# --- notifications ----------------------------------------------------------------------------
