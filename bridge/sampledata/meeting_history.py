"""Synthetic network meetings with their minutes and distributions, and the notifications that
carried them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

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
from bridge.domain.registry.models import OrganisationKind
from bridge.sampledata.history import (
    DAY,
    YEARS,
    _instant,
    _uuid,
)
from bridge.sampledata.world import SyntheticWorld, bulk_insert, next_id


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
    if seq is None:
        raise LookupError("the change stamp gave no position")
    params = [{"i": r["id"], "s": seq + n, "x": xid} for n, r in enumerate(finals)]
    if params:
        session.execute(
            text("UPDATE minutes_version SET change_seq = :s, change_xid = :x WHERE id = :i"),
            params,
        )
        # Their copies carry the same position (minutes.stamp_change), set in one statement.
        session.execute(
            text(
                "UPDATE distribution SET change_seq = v.change_seq, change_xid = v.change_xid "
                "FROM minutes_version v "
                "WHERE v.id = distribution.minutes_version_id AND v.change_seq IS NOT NULL"
            )
        )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT setval('minutes_change_seq', :v)"), {"v": seq + max(len(finals), 1)}
        )


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
