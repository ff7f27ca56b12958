"""The notification_failed gap rule, with the real dispatcher against a loopback receiver."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from bridge.adapters.dispatch_types import DispatchSettings
from bridge.adapters.dispatcher import dispatch_once
from bridge.adapters.fhir_acknowledgement import build_acknowledgement
from bridge.adapters.transport import Transport
from bridge.domain.base import utcnow
from bridge.domain.notifications import enqueue_notification
from bridge.domain.notifications.channels import RetryPolicy, generate_webhook_secret
from bridge.domain.notifications.messages import OrganisationRef
from bridge.domain.notifications.models import Channel, DeliveryEndpoint
from tests.support.gaps import live, resolved, scan
from tests.support.receivers import LOOPBACK, HttpReceiver

SENDER = OrganisationRef("Psykiatrisk Center Ballerup", "265161000016000", "5790000209354")
RULE = "notification_failed"


@pytest.fixture
def receiver():
    r = HttpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def transport():
    t = Transport(http_timeout=2, destinations=LOOPBACK)
    yield t
    t.close()


@pytest.fixture
def practice(make_org, make_patient, make_actor):
    def make():
        org = make_org("gp_practice")
        return org, make_patient(gp=org), make_actor("gp", organisation=org)

    return make


def dispatch(session, at, transport):
    settings = DispatchSettings(
        sender=SENDER, sender_phone="38683868", policy=RetryPolicy(rng=random.Random(1))
    )
    return dispatch_once(session, at, settings=settings, transport=transport)


def endpoint(session, org, channel: str, url: str) -> None:
    secret = generate_webhook_secret() if channel == "webhook" else None
    session.add(
        DeliveryEndpoint(organisation_id=org.id, channel=Channel(channel), url=url, secret=secret)
    )
    session.commit()


def enqueue(session, org, patient, key: str) -> dict:
    rows = enqueue_notification(
        session,
        recipient_organisation_id=org.id,
        kind="minutes_final",
        patient_id=patient.id,
        payload={"ref": {"type": "minutes_version", "id": 1}, "link": "/api/v1/meetings/1"},
        source_type=None,
        source_id=None,
        idempotency_key=key,
    )
    session.commit()
    return {r.channel: r for r in rows}


def test_failed_and_dead_notifications_flagged_until_the_recipient_reads_the_event(
    session, practice, receiver, transport
):
    (org, patient, gp), (busy_org, busy_patient, _) = practice(), practice()
    endpoint(session, org, "webhook", receiver.url("/gone"))
    endpoint(session, busy_org, "webhook", receiver.url("/busy"))
    refused = enqueue(session, org, patient, "refused")
    retrying = enqueue(session, busy_org, busy_patient, "retrying")
    receiver.routes["/gone"] = (410, {}, b"")
    receiver.default = (500, {}, b"")
    now = utcnow()
    dispatch(session, now, transport)
    assert sorted(r.path for r in receiver.received) == ["/busy", "/gone"]

    assert scan(session, RULE, now)["opened"] == 1  # the 410; the 500 is still being retried
    (flag,) = live(session, RULE)
    assert (flag.subject_type, flag.subject_id, flag.patient_id) == (
        "notification",
        refused[Channel.WEBHOOK].id,
        patient.id,
    )

    dispatch(session, now + timedelta(hours=25), transport)  # past the maximum age: dead
    assert scan(session, RULE, now + timedelta(hours=25))["opened"] == 1
    assert live(session, RULE, retrying[Channel.WEBHOOK].id)

    # The practice reads the refused event in its inbox: it has the information now.
    r = gp.post(f"/api/v1/inbox/{refused[Channel.INBOX].id}/ack")
    assert r.status_code == 200, r.json
    outcome = scan(session, RULE, now + timedelta(hours=25, minutes=1))
    assert outcome == {"opened": 0, "still_open": 1, "resolved": 1}, outcome


def test_fhir_message_resent_twice_without_acknowledgement_flagged_until_acknowledged(
    session, practice, receiver, transport
):
    org, patient, gp = practice()
    endpoint(session, org, "fhir", receiver.url("/fhir"))
    row = enqueue(session, org, patient, "fhir-event")[Channel.FHIR]
    now = utcnow()
    for minutes in (0, 31, 62):
        dispatch(session, now + timedelta(minutes=minutes), transport)
        if minutes == 31:
            # Resent once, a resend still to come: not yet given up.
            assert scan(session, RULE, now + timedelta(minutes=32))["opened"] == 0
    assert len(receiver.received) == 3
    assert scan(session, RULE, now + timedelta(minutes=63))["opened"] == 1
    assert live(session, RULE, row.id)[0].patient_id == patient.id

    ack = build_acknowledgement(
        row.message_header_id, "ok", OrganisationRef(org.name, org.sor_code, org.gln), SENDER
    )
    r = gp.post(
        "/api/v1/fhir/acknowledgements",
        data=json.dumps(ack),
        headers={"Content-Type": "application/fhir+json"},
    )
    assert r.status_code == 200, r.json
    assert scan(session, RULE, now + timedelta(minutes=64))["resolved"] == 1
    assert resolved(session, RULE, row.id)
