"""Final minutes reach the GP through the outbox, and every receipt ends in the distribution."""

from __future__ import annotations

import copy
import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from bridge.adapters.dispatch_claims import _claim
from bridge.adapters.dispatch_records import _record_many
from bridge.adapters.dispatch_types import DispatchSettings, DispatchSummary, _Outcome
from bridge.adapters.dispatcher import dispatch_once
from bridge.adapters.transport import Transport
from bridge.domain.base import utcnow
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.messages import OrganisationRef
from bridge.domain.notifications.models import Channel, Notification, NotificationStatus
from tests.support.medcom import medcom_example
from tests.support.meetings import (
    distributions,
    draft_minutes,
    final_minutes,
    finalise,
    held_meeting,
    org_participant,
)
from tests.support.receivers import LOOPBACK, HttpReceiver


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def gp_org(make_org):
    return make_org("gp_practice")


@pytest.fixture
def gp(make_actor, gp_org):
    return make_actor("gp", organisation=gp_org)


@pytest.fixture
def admin(make_actor):
    return make_actor("admin")


@pytest.fixture
def patient(make_patient, nurse, gp_org):
    return make_patient(nurse=nurse, gp=gp_org)


def gp_row(nurse, meeting_id: int, gp_org_id: int, version_id: int | None = None) -> dict:
    [row] = [
        r
        for r in distributions(nurse, meeting_id)
        if r["recipient_organisation_id"] == gp_org_id
        and (version_id is None or r["minutes_version_id"] == version_id)
    ]
    return row


def rows_for(session, distribution_id: int) -> list[Notification]:
    session.expire_all()
    return list(
        session.scalars(
            select(Notification)
            .where(
                Notification.source_type == "distribution",
                Notification.source_id == distribution_id,
            )
            .order_by(Notification.id)
        )
    )


def add_endpoint(admin, org_id: int, **body) -> dict:
    r = admin.post(f"/api/v1/organisations/{org_id}/endpoints", json=body)
    assert r.status_code == 201, r.json
    return r.json


# --- enqueue on finalise ----------------------------------------------------------------------


def test_finalising_notifies_each_gp_distribution_once_and_blocked_ones_never(
    session, nurse, gp, gp_org, patient, make_org
):
    facility = make_org("social_psychiatry_facility")  # no consent: blocked
    dept = make_org("hospital_department")  # treating: statutory, delivered by MedCom
    meeting, minutes = final_minutes(
        nurse,
        patient.id,
        [org_participant(facility.id), org_participant(dept.id)],
        action_items=[
            {"description": "Bestil blodprøver", "responsible_organisation_id": gp_org.id},
            {"description": "Kontakt bostøtte", "responsible_organisation_id": dept.id},
        ],
    )
    rows = distributions(nurse, meeting["id"])
    by_org = {r["recipient_organisation_id"]: r for r in rows}
    assert by_org[facility.id]["status"] == "blocked"

    gp_notes = rows_for(session, by_org[gp_org.id]["id"])
    assert [(n.channel, n.kind, n.recipient_organisation_id) for n in gp_notes] == [
        (Channel.INBOX, "minutes_final", gp_org.id)
    ]
    assert len(rows_for(session, by_org[dept.id]["id"])) == 1
    assert rows_for(session, by_org[facility.id]["id"]) == []
    # Nothing else was queued for the blocked facility under any source.
    assert (
        session.scalars(
            select(Notification).where(Notification.recipient_organisation_id == facility.id)
        ).all()
        == []
    )

    [item] = gp.get("/api/v1/inbox").json["items"]
    assert item["ref"]["distribution_id"] == by_org[gp_org.id]["id"]
    assert item["ref"]["id"] == minutes["id"]
    assert item["link"] == f"/api/v1/meetings/{meeting['id']}/minutes/1"
    assert "Bestil blodprøver" in item["body"]
    assert "Kontakt bostøtte" not in item["body"]  # the hospital's task, not the GP's
    assert "Status og plan" in item["body"]  # the minutes themselves reach the GP
    # Still pending: a message waiting in the inbox is not yet a receipt.
    assert by_org[gp_org.id]["status"] == "pending"


def test_an_amendment_notifies_the_gp_again(session, nurse, gp, gp_org, patient):
    meeting, _ = final_minutes(nurse, patient.id)
    nurse.post(
        f"/api/v1/meetings/{meeting['id']}/minutes/amendments",
        json={"reason": "forkert dato", "decisions": "Rettet"},
    )
    v2 = finalise(nurse, meeting["id"], 2)

    items = gp.get("/api/v1/inbox").json["items"]
    assert [i["ref"]["version_no"] for i in items] == [2, 1]
    assert items[0]["subject"] == "Rettet referat fra netværksmøde"
    assert "forkert dato" in items[0]["body"]
    row = gp_row(nurse, meeting["id"], gp_org.id, v2["id"])
    assert len(rows_for(session, row["id"])) == 1


def test_patient_without_a_gp_is_finalised_with_no_gp_notification(session, nurse, make_patient):
    patient = make_patient(nurse=nurse, gp_practice_id=None)
    meeting, minutes = final_minutes(nurse, patient.id)
    rows = distributions(nurse, meeting["id"])
    assert minutes["status"] == "final"
    assert not [r for r in rows if r["recipient_role"] == "gp"]
    # Nothing at all went to the outbox: the municipality pulls, the nurse reads in Bridge.
    assert {r["channel"] for r in rows} <= {"pull", "internal"}
    assert [n for r in rows for n in rows_for(session, r["id"])] == []
    ref_ids = session.scalars(
        select(Notification.payload["ref"]["id"].as_integer()).where(
            Notification.patient_id == patient.id
        )
    ).all()
    assert minutes["id"] not in ref_ids


# --- acknowledgements: three doors, one outcome ------------------------------------------------


def test_gp_acknowledging_the_distribution_settles_the_inbox_too(
    session, nurse, gp, gp_org, patient
):
    meeting, _ = final_minutes(nurse, patient.id)
    row = gp_row(nurse, meeting["id"], gp_org.id)

    r = gp.post(f"/api/v1/distributions/{row['id']}/ack")

    assert r.status_code == 200, r.json
    assert gp_row(nurse, meeting["id"], gp_org.id)["status"] == "acknowledged"
    [item] = gp.get("/api/v1/inbox").json["items"]
    assert item["status"] == "acknowledged"


def test_gp_acknowledging_in_the_inbox_acknowledges_the_distribution(
    session, nurse, gp, gp_org, patient
):
    meeting, _ = final_minutes(nurse, patient.id)
    [item] = gp.get("/api/v1/inbox").json["items"]

    r = gp.post(f"/api/v1/inbox/{item['id']}/ack")
    again = gp.post(f"/api/v1/inbox/{item['id']}/ack")

    assert r.status_code == 200 and again.status_code == 200
    row = gp_row(nurse, meeting["id"], gp_org.id)
    assert row["status"] == "acknowledged"
    assert row["acknowledged_at"] and row["delivered_at"] and row["sent_at"]


def medcom_ok(header_id: str) -> dict:
    bundle = medcom_example("ack-01-ok.json")
    bundle = copy.deepcopy(bundle)
    bundle["entry"][0]["resource"]["response"]["identifier"] = header_id
    return bundle


def test_medcom_acknowledgement_from_the_gp_acknowledges_the_distribution(
    session, nurse, gp, gp_org, patient, admin
):
    add_endpoint(admin, gp_org.id, channel="fhir", url="http://127.0.0.1:9/fhir")
    meeting, _ = final_minutes(nurse, patient.id)
    row = gp_row(nurse, meeting["id"], gp_org.id)
    [fhir] = [n for n in rows_for(session, row["id"]) if n.channel == Channel.FHIR]
    fhir.status, fhir.attempts = NotificationStatus.SENT, 1  # as if the dispatcher had sent it
    session.commit()

    r = gp.post(
        "/api/v1/fhir/acknowledgements",
        data=json.dumps(medcom_ok(fhir.message_header_id)),
        headers={"Content-Type": "application/fhir+json"},
    )

    assert r.status_code == 200, r.json
    assert gp_row(nurse, meeting["id"], gp_org.id)["status"] == "acknowledged"
    # Every channel is settled: nothing is resent, and the inbox shows it read.
    assert {n.status for n in rows_for(session, row["id"])} == {NotificationStatus.ACKNOWLEDGED}


def test_acknowledging_directly_stops_a_pending_fhir_message(
    session, nurse, gp, gp_org, patient, admin
):
    add_endpoint(admin, gp_org.id, channel="fhir", url="http://127.0.0.1:9/fhir")
    meeting, _ = final_minutes(nurse, patient.id)
    row = gp_row(nurse, meeting["id"], gp_org.id)

    gp.post(f"/api/v1/distributions/{row['id']}/ack")

    [fhir] = [n for n in rows_for(session, row["id"]) if n.channel == Channel.FHIR]
    assert fhir.status == NotificationStatus.ACKNOWLEDGED
    assert fhir.next_attempt_at is None


# --- the dispatcher's outcome flows back --------------------------------------------------------


@pytest.fixture
def receiver():
    r = HttpReceiver().start()
    yield r
    r.stop()


def test_webhook_delivery_moves_the_distribution_to_delivered(
    session, nurse, gp_org, patient, admin, receiver
):
    add_endpoint(admin, gp_org.id, channel="webhook", url=receiver.url())
    meeting = held_meeting(nurse, patient.id)
    draft_minutes(nurse, meeting["id"])
    finalise(nurse, meeting["id"])
    row = gp_row(nurse, meeting["id"], gp_org.id)
    assert row["status"] == "pending"
    settings = DispatchSettings(
        base_url="https://bridge.example",
        sender=OrganisationRef("Bridge", "265161000016000", "5790000209354"),
        sender_phone="38683868",
        policy=RetryPolicy(rng=random.Random(3)),
        lease=timedelta(minutes=5),
    )
    transport = Transport(http_timeout=2, destinations=LOOPBACK)
    try:
        summary = dispatch_once(session, utcnow(), settings=settings, transport=transport)
    finally:
        transport.close()

    assert summary.delivered >= 1
    [got] = [g for g in receiver.received if str(row["id"]) in g.body.decode()]
    assert json.loads(got.body)["data"]["ref"]["distribution_id"] == row["id"]
    after = gp_row(nurse, meeting["id"], gp_org.id)
    assert after["status"] == "delivered"
    assert after["delivered_at"]


def test_recording_a_group_of_deliveries_costs_the_same_statements_for_two_as_for_six(
    session, nurse, gp_org, make_patient, admin, receiver, count_queries
):
    """The dispatcher records each group of outcomes that came back, and moves their
    distributions, set-based: a group costs the same statements whatever its size."""
    add_endpoint(admin, gp_org.id, channel="webhook", url=receiver.url())
    settings = DispatchSettings(policy=RetryPolicy(rng=random.Random(3)))
    counts = []
    for minutes in (2, 6):
        meetings = [
            final_minutes(nurse, make_patient(nurse=nurse, gp=gp_org).id)[0] for _ in range(minutes)
        ]
        now = utcnow()
        jobs = [j for j in _claim(session, now, 100, settings) if j.channel == Channel.WEBHOOK]
        assert len(jobs) == minutes
        summary = DispatchSummary()
        with count_queries() as sent:
            _record_many(
                session,
                [(j, _Outcome(NotificationStatus.DELIVERED)) for j in jobs],
                now,
                settings.policy,
                summary,
            )
        assert summary.delivered == minutes
        counts.append(sent.count)
        for meeting in meetings:
            assert gp_row(nurse, meeting["id"], gp_org.id)["status"] == "delivered"
    assert counts[0] == counts[1], counts
