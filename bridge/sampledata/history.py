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

from sqlalchemy import select, text
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
    OrgFact,
    ParticipantFact,
    distribution_list,
)
from bridge.domain.meetings.minutes import stamp_change
from bridge.domain.meetings.models import (
    ActionItem,
    ActionItemStatus,
    Channel,
    Distribution,
    DistributionStatus,
    MeetingParticipant,
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    ParticipantKind,
    RequesterKind,
)
from bridge.domain.notifications.models import Channel as NotificationChannel
from bridge.domain.notifications.models import (
    DeliveryEndpoint,
    Notification,
    NotificationStatus,
)
from bridge.domain.patients.models import Consent, ConsentScope
from bridge.domain.registry.models import OrganisationKind, Specialty
from bridge.sampledata.world import Step, SyntheticWorld, bulk_insert, next_id

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
    world.extra["municipality_consent"] = consent_of = {}
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
            discharged: datetime | None = admitted + length
            if discharged >= now or (k == n_psych - 1 and rng.random() < 0.03):
                discharged = None  # still admitted
            else:
                discharged = discharged.replace(hour=rng.choice(DISCHARGE_HOURS))
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


def meetings(session: Session, world: SyntheticWorld) -> None:
    """A network meeting for about a third of the patients: mostly held with final minutes (some
    amended), a few planned, requested or cancelled. Every final version is distributed: the GP
    always, the municipality on consent (blocked otherwise), the nurse internally."""
    rng, now = world.rng, world.now
    consent_of: dict[int, list[ConsentFact]] = world.extra.get("municipality_consent", {})
    nurse_of = {e["patient_id"]: e["nurse_id"] for e in world.enrollments}
    ids = {
        m: next_id(session, m)
        for m in (NetworkMeeting, MeetingParticipant, MinutesVersion, ActionItem, Distribution)
    }
    out: dict[Any, list[dict[str, Any]]] = {m: [] for m in ids}
    finals: list[dict[str, Any]] = []  # (version row) in the order they were finalised
    for p in world.patients:
        if rng.random() >= 0.33:
            continue
        nurse = nurse_of[p["id"]]
        meeting_id = ids[NetworkMeeting]
        ids[NetworkMeeting] += 1
        requested = _instant(world, now - timedelta(days=YEARS * 365 - 30), now - 3 * DAY)
        start = requested + timedelta(days=rng.randrange(3, 20), hours=2)
        r = rng.random()
        status = (
            MeetingStatus.REQUESTED
            if r < 0.02
            else MeetingStatus.CANCELLED
            if r < 0.05
            else MeetingStatus.PLANNED
            if start > now or r < 0.07
            else MeetingStatus.HELD
        )
        if status == MeetingStatus.PLANNED and start <= now:
            start = now + timedelta(days=rng.randrange(1, 20))
        scheduled = status in (MeetingStatus.PLANNED, MeetingStatus.HELD)
        out[NetworkMeeting].append(
            {
                "id": meeting_id,
                "patient_id": p["id"],
                "organiser_id": nurse,
                "status": status,
                "requested_by_kind": RequesterKind.NURSE,
                "requested_at": requested,
                "requested_at_discharge": False,
                "scheduled_start": start if scheduled else None,
                "scheduled_end": start + timedelta(hours=1) if scheduled else None,
                "place": "Distriktspsykiatrien, mødelokale 2" if scheduled else None,
                "cancel_reason": "Patienten ønskede ikke mødet"
                if status == MeetingStatus.CANCELLED
                else None,
                "held_at": start + timedelta(hours=1) if status == MeetingStatus.HELD else None,
                "created_at": requested,
                "updated_at": start if scheduled else requested,
                "version": 3 if status == MeetingStatus.HELD else 1,
            }
        )
        treating = rng.random() < 0.3
        orgs = [(p["municipality_id"], treating)]
        if p["gp_practice_id"] and rng.random() < 0.6:
            orgs.append((p["gp_practice_id"], False))
        for org, treating_care in orgs:
            out[MeetingParticipant].append(
                {
                    "id": ids[MeetingParticipant],
                    "meeting_id": meeting_id,
                    "kind": ParticipantKind.ORGANISATION,
                    "organisation_id": org,
                    "treating_health_care": treating_care,
                    "attended": True if status == MeetingStatus.HELD else None,
                }
            )
            ids[MeetingParticipant] += 1
        out[MeetingParticipant].append(
            {
                "id": ids[MeetingParticipant],
                "meeting_id": meeting_id,
                "kind": ParticipantKind.PATIENT,
                "organisation_id": None,
                "treating_health_care": False,
                "attended": True if status == MeetingStatus.HELD else None,
            }
        )
        ids[MeetingParticipant] += 1
        if status != MeetingStatus.HELD:
            continue
        held = start + timedelta(hours=1)
        versions = [held + timedelta(days=rng.randrange(0, 3))]
        if rng.random() < 0.08 and versions[0] + timedelta(days=5) < now:
            versions.append(versions[0] + timedelta(days=rng.randrange(2, 5)))
        for no, finalised in enumerate(versions, start=1):
            version_id = ids[MinutesVersion]
            ids[MinutesVersion] += 1
            row = {
                "id": version_id,
                "meeting_id": meeting_id,
                "version_no": no,
                "status": MinutesStatus.FINAL,
                "summary": "Status på behandling og bolig gennemgået.",
                "decisions": "Kommunen tilbyder bostøtte; egen læge ser patienten.",
                "amendment_reason": "Rettet dato for opfølgning" if no > 1 else None,
                "created_at": held if no == 1 else versions[0],
                "created_by_id": nurse,
                "updated_at": finalised,
                "finalised_at": finalised,
                "finalised_by_id": nurse,
                "changed_at": finalised,
                "version": 2,
            }
            out[MinutesVersion].append(row)
            finals.append(row)
            for k in range(rng.randrange(1, 4)):
                org = orgs[k % len(orgs)][0]
                due = (finalised + timedelta(days=rng.randrange(7, 60))).date()
                done = due < now.date() and rng.random() < 0.85
                out[ActionItem].append(
                    {
                        "id": ids[ActionItem],
                        "minutes_version_id": version_id,
                        "description": "Følge op på aftalt indsats",
                        "responsible_organisation_id": org,
                        "due_date": due,
                        "status": ActionItemStatus.DONE if done else ActionItemStatus.OPEN,
                        "done_at": datetime.combine(due, finalised.timetz()) if done else None,
                        "version": 2 if done else 1,
                    }
                )
                ids[ActionItem] += 1
            out[Distribution].extend(
                _distributions(
                    world, ids, p, version_id, finalised, orgs, consent_of.get(p["id"], []), nurse
                )
            )
    for model, rows in out.items():
        world.counts[model.__tablename__ + "s"] = bulk_insert(session, model, rows)
    _stamp_feed(session, finals, now)


def _distributions(
    world: SyntheticWorld,
    ids: dict[Any, int],
    p: dict[str, Any],
    version_id: int,
    at: datetime,
    orgs: list[tuple[int, bool]],
    consents: list[ConsentFact],
    nurse: int,
) -> list[dict[str, Any]]:
    """The recipients and legal bases of meetings.distribution.distribution_list (the rule
    itself), with delivery progress drawn at random."""
    rng, now = world.rng, world.now
    recent = now - at < timedelta(days=14)
    gp = p["gp_practice_id"]
    municipality = OrgFact(p["municipality_id"], OrganisationKind.MUNICIPALITY)
    kind_of = {p["municipality_id"]: OrganisationKind.MUNICIPALITY}
    if gp is not None:
        kind_of[gp] = OrganisationKind.GP_PRACTICE
    recipients = distribution_list(
        participants=[
            ParticipantFact(organisation=OrgFact(org, kind_of[org]), treating_health_care=treating)
            for org, treating in orgs
        ],
        gp=OrgFact(gp, OrganisationKind.GP_PRACTICE) if gp is not None else None,
        residence_municipality=municipality,
        nurse_staff_id=nurse,
        consents=consents,
        at=at,
    )
    rows = []
    for r in recipients:
        row: dict[str, Any] = {
            "id": ids[Distribution],
            "minutes_version_id": version_id,
            "recipient_key": r.key,
            "recipient_kind": r.kind,
            "recipient_organisation_id": r.organisation_id,
            "recipient_staff_id": r.staff_id,
            "recipient_role": r.role,
            "channel": r.channel,
            "status": r.status,
            "created_at": at,
            "sent_at": None,
            "delivered_at": None,
            "acknowledged_at": None,
            "blocked_reason": r.blocked_reason,
            "legal_basis": r.legal_basis,
        }
        ids[Distribution] += 1
        rows.append(row)
        if r.status == DistributionStatus.BLOCKED:
            continue
        if r.channel == Channel.MEDCOM:
            # MedCom to the GP: mostly acknowledged within a day; a few percent never are.
            acked = rng.random() < (0.5 if recent else 0.96)
            row["status"] = DistributionStatus.ACKNOWLEDGED if acked else DistributionStatus.SENT
            row["sent_at"] = at + timedelta(minutes=2)
            if acked:
                row["acknowledged_at"] = at + timedelta(hours=rng.randrange(1, 30))
            world.gp_distributions.append((row, p["id"]))
        elif r.channel == Channel.PULL:
            # The municipality fetches them from its feed, most within the day.
            fetched = not recent or rng.random() < 0.5
            row["status"] = DistributionStatus.ACKNOWLEDGED if fetched else DistributionStatus.SENT
            row["sent_at"] = at
            if fetched:
                row["delivered_at"] = at + timedelta(hours=6)
                row["acknowledged_at"] = at + timedelta(hours=8)
        else:
            row["sent_at"] = row["delivered_at"] = at
    return rows


def _stamp_feed(session: Session, finals: list[dict[str, Any]], now: datetime) -> None:
    """Give every final version its change-feed position by the feed's own rule (stamp_change):
    the first position it draws, then the next ones in finalising order, all with the seeding
    transaction's id; then move the feed's sequence past them."""
    finals.sort(key=lambda r: (r["finalised_at"], r["id"]))
    first = MinutesVersion()  # never added to the session: only its stamp is wanted
    stamp_change(session, first, now)
    seq, xid = first.change_seq, first.change_xid
    params = [{"i": r["id"], "s": seq + n, "x": xid} for n, r in enumerate(finals)]
    if params:
        session.execute(
            text("UPDATE minutes_version SET change_seq = :s, change_xid = :x WHERE id = :i"),
            params,
        )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT setval('minutes_change_seq', :v)"), {"v": seq + max(len(finals), 1)}
        )


# --- notifications ----------------------------------------------------------------------------


def notifications(session: Session, world: SyntheticWorld) -> None:
    """The outbox behind the GP distributions: each GP practice receives MedCom (FHIR) and has
    an inbox; most messages were acknowledged, a few failed or died, none is pending."""
    rng = world.rng
    endpoint_id = next_id(session, DeliveryEndpoint)
    endpoints, endpoint_of = [], {}
    for gp in world.gp_practices:
        endpoints.append(
            {
                "id": endpoint_id,
                "organisation_id": gp,
                "channel": NotificationChannel.FHIR,
                "url": f"https://ydernummer-{gp}.example.invalid/fhir/$process-message",
                "active": True,
                "created_at": world.now - timedelta(days=YEARS * 365 + 30),
            }
        )
        endpoint_of[gp] = endpoint_id
        endpoint_id += 1
    world.counts["delivery_endpoints"] = bulk_insert(session, DeliveryEndpoint, endpoints)
    notification_id = next_id(session, Notification)
    rows: list[dict[str, Any]] = []
    S = NotificationStatus
    for d, patient_id in world.gp_distributions:
        at, gp = d["created_at"], d["recipient_organisation_id"]
        key = f"minutes:{d['minutes_version_id']}:org:{gp}"
        ref = {"type": "minutes_version", "id": d["minutes_version_id"], "patient_id": patient_id}
        link = f"/api/v1/distributions/{d['id']}"
        acked = d["status"] == DistributionStatus.ACKNOWLEDGED
        inbox_id = notification_id
        common = {
            "recipient_organisation_id": gp,
            "patient_id": patient_id,
            "kind": "minutes",
            "event_key": key,
            "source_type": "distribution",
            "source_id": d["id"],
            "created_at": at,
            "resends": 0,
        }
        rows.append(
            {
                **common,
                "id": inbox_id,
                "channel": NotificationChannel.INBOX,
                "endpoint_id": None,
                "payload": {"ref": ref, "link": link},
                "idempotency_key": f"{key}:inbox",
                "last_error": None,
                "status": S.ACKNOWLEDGED if acked else S.DELIVERED,
                "attempts": 0,
                "next_attempt_at": None,
                "message_header_id": None,
                "sent_at": at,
                "acknowledged_at": d["acknowledged_at"],
            }
        )
        r = rng.random()
        status = S.ACKNOWLEDGED if acked else S.SENT if r < 0.6 else S.FAILED if r < 0.8 else S.DEAD
        rows.append(
            {
                **common,
                "id": inbox_id + 1,
                "channel": NotificationChannel.FHIR,
                "endpoint_id": endpoint_of[gp],
                "payload": {"ref": ref, "link": link, "inbox_id": inbox_id},
                "idempotency_key": f"{key}:fhir",
                "status": status,
                "attempts": 1 if status != S.DEAD else 12,
                "next_attempt_at": None,
                "message_header_id": _uuid(world),
                "last_error": "HTTP 503" if status in (S.FAILED, S.DEAD) else None,
                "sent_at": at + timedelta(minutes=2)
                if status in (S.SENT, S.ACKNOWLEDGED)
                else None,
                "acknowledged_at": d["acknowledged_at"],
            }
        )
        notification_id += 2
    world.counts["notifications"] = bulk_insert(session, Notification, rows)


#: The history, in the order it is made (later steps read what earlier ones left in the world).
STEPS: tuple[Step, ...] = (
    consents,
    admissions,
    statutory_plans,
    follow_up_tasks,
    meetings,
    notifications,
)
