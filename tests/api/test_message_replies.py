"""The nurse answers a GP's message and passes one on: MedCom replies and forwards that carry the
thread (the Provenance chain), sent by the real dispatcher and validated against MedCom's
profiles."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.adapters.dispatch_types import DispatchSettings
from bridge.adapters.dispatcher import dispatch_once
from bridge.adapters.transport import Transport
from bridge.domain.base import utcnow
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.messages import OrganisationRef
from bridge.domain.notifications.models import Channel, DeliveryEndpoint
from bridge.domain.registry.models import Organisation, OrganisationKind
from tests.support.medcom import HOSPITAL_GLN, HOSPITAL_SOR, post, rewritten
from tests.support.medcom_validator import errors, get_validator
from tests.support.receivers import LOOPBACK, HttpReceiver

# Bridge as cc-03's receiver ("Plejecenter Herlev" in MedCom's example).
BRIDGE = OrganisationRef("Bridge, Region Hovedstaden", "953741000016009", "5790001348120")
THREAD_TOPIC = "Forspørgsel på seneste resultater"


@pytest.fixture
def receiver():
    r = HttpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def gp(make_org, make_actor, receiver, session):
    """cc-03's sender as a GP practice with a system account and a MedCom endpoint."""
    practice = make_org(
        OrganisationKind.GP_PRACTICE, sor_code=HOSPITAL_SOR, gln=HOSPITAL_GLN, phone="44527000"
    )
    session.add(
        DeliveryEndpoint(organisation_id=practice.id, channel=Channel.FHIR, url=receiver.url("/gp"))
    )
    session.commit()
    return make_actor("gp", organisation=practice)


@pytest.fixture
def nurse(make_actor, session):
    nurse = make_actor("nurse", phone="38683868")
    nurse.staff.name = "Anna Marie Hansen"
    session.commit()
    return nurse


@pytest.fixture
def patient(make_patient, nurse, gp, session):
    return make_patient(nurse=nurse, gp=session.get(Organisation, gp.staff.organisation_id))


@pytest.fixture
def received(gp, patient, nurse):
    """cc-03 received from the GP: the thread's messages as the nurse reads them."""
    assert post(gp, rewritten("cc-03-reply-thread.json", patient.cpr)).status_code == 200
    [thread] = nurse.get(f"/api/v1/patients/{patient.id}/messages").get_json()
    return thread["messages"]


def _dispatch(session) -> None:
    settings = DispatchSettings(
        base_url="https://bridge.example",
        sender=BRIDGE,
        sender_phone="43431234",
        policy=RetryPolicy(rng=random.Random(3)),
    )
    transport = Transport(http_timeout=5, destinations=LOOPBACK)
    try:
        dispatch_once(session, utcnow(), settings=settings, transport=transport)
    finally:
        transport.close()


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_a_reply_and_a_forward_carry_the_thread_and_validate(
    session, nurse, gp, patient, received, make_org, receiver, tmp_path: Path
):
    other = make_org(OrganisationKind.GP_PRACTICE, name="Lægehuset Ballerup")
    session.add(
        DeliveryEndpoint(organisation_id=other.id, channel=Channel.FHIR, url=receiver.url("/other"))
    )
    session.commit()
    last = received[-1]

    reply = nurse.post(f"/api/v1/messages/{last['id']}/reply", json={"text": "Tak, modtaget."})
    forward = nurse.post(
        f"/api/v1/messages/{last['id']}/forward",
        json={"recipient_organisation_id": other.id, "text": "Til orientering."},
    )

    assert reply.status_code == 201, reply.json
    assert forward.status_code == 201, forward.json
    assert reply.json["direction"] == "out" and reply.json["activity"] == "reply-message"
    assert reply.json["recipient_organisation_id"] == gp.staff.organisation_id
    assert forward.json["recipient_organisation_id"] == other.id
    _dispatch(session)
    by_path = {r.path: json.loads(r.body) for r in receiver.received}
    assert set(by_path) == {"/gp", "/other"}
    earlier = rewritten("cc-03-reply-thread.json", patient.cpr)
    (earlier_comm,) = _resources(earlier, "Communication")
    earlier_header = earlier["entry"][0]["resource"]["id"]
    for path, activity in (("/gp", "reply-message"), ("/other", "forward-message")):
        bundle = by_path[path]
        (tmp_path / f"{activity}.json").write_text(json.dumps(bundle))
        (comm,) = _resources(bundle, "Communication")
        # The thread goes on: its identifier and topic, every earlier payload, then hers.
        assert comm["identifier"] == earlier_comm["identifier"]
        assert comm["topic"]["text"] == THREAD_TOPIC
        assert comm["payload"][:-1] == earlier_comm["payload"]
        assert comm["payload"][-1]["contentString"] in ("Tak, modtaget.", "Til orientering.")
        provenances = _resources(bundle, "Provenance")
        activities = [p["activity"]["coding"][0]["code"] for p in provenances]
        assert activities[0] == activity
        assert activities[1:] == ["reply-message", "new-message", "reply-message"]
        revision = [e for e in provenances[0]["entity"] if e["role"] == "revision"]
        assert revision == [
            {"role": "revision", "what": {"reference": f"MessageHeader/{earlier_header}"}}
        ]
        header = bundle["entry"][0]["resource"]
        assert header["id"] in (reply.json["message_header_id"], forward.json["message_header_id"])

    reports = get_validator().validate(tmp_path)

    assert len(reports) == 2
    assert not errors(reports), "\n".join(errors(reports))
    # The thread shows what she sent.
    [thread] = nurse.get(f"/api/v1/patients/{patient.id}/messages").get_json()
    assert [m["direction"] for m in thread["messages"][-2:]] == ["out", "out"]


def test_what_cannot_be_answered_is_refused_clearly(
    nurse, patient, received, make_actor, make_org, region
):
    last = received[-1]
    empty = nurse.post(f"/api/v1/messages/{last['id']}/reply", json={"text": "  "})
    assert empty.status_code == 422 and "text" in json.dumps(empty.json)
    to_region = nurse.post(
        f"/api/v1/messages/{last['id']}/forward",
        json={"recipient_organisation_id": region.id, "text": "Til orientering."},
    )
    assert to_region.status_code == 422
    assert "recipient_organisation_id" in json.dumps(to_region.json)
    sent = nurse.post(f"/api/v1/messages/{last['id']}/reply", json={"text": "Tak."}).json
    again = nurse.post(f"/api/v1/messages/{sent['id']}/reply", json={"text": "Tak igen."})
    assert again.status_code == 422
    stranger = make_actor("nurse")
    hidden = stranger.post(f"/api/v1/messages/{last['id']}/reply", json={"text": "Hej"})
    assert hidden.status_code == 404
    assert nurse.post("/api/v1/messages/999999999/reply", json={"text": "Hej"}).status_code == 404


def test_a_reply_is_idempotent_with_a_key(nurse, received, session):
    from bridge.domain.messaging.models import ThreadMessage

    last = received[-1]
    headers = {"Idempotency-Key": "reply-once"}
    first = nurse.post(
        f"/api/v1/messages/{last['id']}/reply", json={"text": "Tak."}, headers=headers
    )
    second = nurse.post(
        f"/api/v1/messages/{last['id']}/reply", json={"text": "Tak."}, headers=headers
    )
    assert first.status_code == second.status_code == 201
    assert first.json == second.json
    out = session.scalars(select(ThreadMessage).where(ThreadMessage.direction == "out")).all()
    assert len(out) == 1
