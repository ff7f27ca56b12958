"""Every message Bridge sends validates against its MedCom profile (MedCom's own validator).

Messages are built by the real path: minutes finalised through the API, the other kinds
enqueued as their areas do, all sent by the dispatcher to a loopback receiver; what arrived is
what is validated. Acknowledgements Bridge writes are validated alongside.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import timedelta
from pathlib import Path

import pytest

from bridge.adapters.dispatch_types import DispatchSettings
from bridge.adapters.dispatcher import dispatch_once
from bridge.adapters.fhir_acknowledgement import build_acknowledgement
from bridge.adapters.transport import Transport
from bridge.documents.minutes_pdf import minutes_attachments
from bridge.domain.base import utcnow
from bridge.domain.notifications import enqueue_notification
from bridge.domain.notifications.channels import CATEGORY_BY_KIND, RetryPolicy
from bridge.domain.notifications.messages import OrganisationRef
from bridge.domain.notifications.models import Channel, DeliveryEndpoint
from tests.support.medcom_validator import errors, get_validator
from tests.support.meetings import draft_minutes, finalise, held_meeting, org_participant
from tests.support.receivers import LOOPBACK, HttpReceiver

SENDER = OrganisationRef("Psykiatrisk Center Ballerup", "265161000016000", "5790000209354")


@pytest.fixture(scope="module")
def validator():
    return get_validator()


@pytest.fixture
def receiver():
    r = HttpReceiver().start()
    yield r
    r.stop()


def test_the_validator_passes_its_self_test_on_medcoms_examples(validator):
    run = validator.selftest()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "self-test: all expectations hold" in run.stdout


def resources(bundle, resource_type):
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def test_every_message_bridge_sends_validates_with_no_errors(
    session, make_actor, make_org, make_patient, validator, receiver, tmp_path: Path
):
    gp_org = make_org("gp_practice", name="Lægerne Herlev Torv", phone="44912233")
    nurse = make_actor("nurse", phone="38683868")
    nurse.staff.name = "Anna Marie Hansen"
    session.commit()
    patient = make_patient(nurse=nurse, gp=gp_org)
    session.add(
        DeliveryEndpoint(organisation_id=gp_org.id, channel=Channel.FHIR, url=receiver.url("/fhir"))
    )
    session.commit()
    # Minutes through the API: finalised, then amended (the two minutes kinds).
    meeting = held_meeting(nurse, patient.id, [org_participant(gp_org.id)])
    draft_minutes(
        nurse,
        meeting["id"],
        action_items=[
            {
                "description": "Bestil blodprøver",
                "responsible_organisation_id": gp_org.id,
                "due_date": "2030-01-15",
            }
        ],
    )
    finalise(nurse, meeting["id"])
    # The other kinds Bridge has texts for, enqueued as an area would.
    for kind in sorted(set(CATEGORY_BY_KIND) - {"minutes_final", "minutes_amended"}):
        enqueue_notification(
            session,
            recipient_organisation_id=gp_org.id,
            kind=kind,
            patient_id=patient.id,
            payload={"ref": {"type": kind}, "link": f"/api/v1/{kind}", "title": kind},
            source_type=None,
            source_id=None,
            idempotency_key=f"conformance:{kind}",
        )
    session.commit()
    settings = DispatchSettings(
        base_url="https://bridge.example",
        sender=SENDER,
        sender_phone="43431234",
        policy=RetryPolicy(rng=random.Random(3)),
        attachments=minutes_attachments,
    )
    transport = Transport(http_timeout=5, destinations=LOOPBACK)
    try:
        dispatch_once(session, utcnow(), settings=settings, transport=transport)
    finally:
        transport.close()

    bundles = [json.loads(r.body) for r in receiver.received]
    kinds = len(CATEGORY_BY_KIND) - 1  # the amendment is not sent in this test
    assert len(bundles) == kinds
    for index, bundle in enumerate(bundles):
        (tmp_path / f"sent-{index}.json").write_text(json.dumps(bundle))
    # The acknowledgements Bridge writes: each code, carrying the answered message's Provenance.
    gp_ref = OrganisationRef(gp_org.name, gp_org.sor_code, gp_org.gln)
    for code in ("ok", "transient-error", "fatal-error"):
        ack = build_acknowledgement(
            bundles[0]["entry"][0]["resource"]["id"],
            code,
            SENDER,
            gp_ref,
            "Ukendt modtager" if code == "fatal-error" else None,
            acknowledged_message=bundles[0],
        )
        assert [p["activity"]["coding"][0]["code"] for p in resources(ack, "Provenance")] == [
            "new-message",
            "acknowledgement",
        ]
        (tmp_path / f"ack-{code}.json").write_text(json.dumps(ack))

    reports = validator.validate(tmp_path)

    assert len(reports) == kinds + 3
    assert not errors(reports), "\n".join(errors(reports))
    # The sense of the messages, which the validator does not check.
    minutes = next(
        b
        for b in bundles
        if any(
            "data" in p.get("contentAttachment", {})
            for p in resources(b, "Communication")[0]["payload"]
        )
    )
    (comm,) = resources(minutes, "Communication")
    (practitioner,) = resources(minutes, "Practitioner")
    assert practitioner["name"][0] == {"family": "Hansen", "given": ["Anna", "Marie"]}
    contact = [
        e["valueContactPoint"]["value"]
        for e in comm["payload"][0]["extension"]
        if e["url"].endswith("medcom-core-contact-extension")
    ]
    assert contact == ["38683868"]  # her own phone before the sender's
    pdf = comm["payload"][1]["contentAttachment"]
    assert pdf["contentType"] == "application/pdf"
    assert base64.b64decode(pdf["data"]).startswith(b"%PDF-")
    categories = {
        resources(b, "Communication")[0]["category"][0]["coding"][0]["code"] for b in bundles
    }
    assert categories == {"carecoordination", "discharge"}


def test_without_any_phone_the_message_fails_with_the_reason_unsent(
    session, make_actor, make_org, make_patient, receiver
):
    gp_org = make_org("gp_practice")
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse, gp=gp_org)
    session.add(
        DeliveryEndpoint(organisation_id=gp_org.id, channel=Channel.FHIR, url=receiver.url())
    )
    session.commit()
    meeting = held_meeting(nurse, patient.id)
    draft_minutes(nurse, meeting["id"])
    finalise(nurse, meeting["id"])
    transport = Transport(http_timeout=5, destinations=LOOPBACK)
    try:
        summary = dispatch_once(
            session,
            utcnow() + timedelta(seconds=1),
            settings=DispatchSettings(sender=SENDER),
            transport=transport,
        )
    finally:
        transport.close()
    assert summary.failed == 1 and not receiver.received


def test_minutes_pdf_downloads_for_readers_only_and_is_logged(
    session, make_actor, make_org, make_patient
):
    gp_org = make_org("gp_practice")
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse, gp=gp_org)
    meeting = held_meeting(nurse, patient.id, [org_participant(gp_org.id)])
    draft_minutes(nurse, meeting["id"])
    finalise(nurse, meeting["id"])
    url = f"/api/v1/meetings/{meeting['id']}/minutes/1/pdf"

    r = nurse.get(url)
    other = make_actor("nurse").get(url)
    missing = nurse.get(f"/api/v1/meetings/{meeting['id']}/minutes/9/pdf")

    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF-") and r.headers["Cache-Control"] == "no-store"
    assert other.status_code == 404 and missing.status_code == 404
    log = nurse.get(f"/api/v1/patients/{patient.id}/access-log").json["items"]
    assert any(e.get("resource_type") == "network_meeting" for e in log)


def test_a_message_over_the_size_limit_is_refused_before_it_is_sent():
    from datetime import UTC, datetime

    from bridge.adapters.fhir_care_communication import fhir_bundle
    from bridge.domain.notifications.channels import MAX_MESSAGE_BYTES
    from bridge.domain.notifications.messages import Attachment, PatientRef

    common = {
        "message_header_id": "0b7e4f1c-0000-4000-8000-000000000001",
        "bundle_id": "0b7e4f1c-0000-4000-8000-000000000002",
        "kind": "minutes_final",
        "subject": "Referat",
        "body": "Referatet er vedhæftet.",
        "sender": SENDER,
        "receiver": OrganisationRef("Lægerne Herlev Torv", "953741000016009", "5790001348120"),
        "patient": PatientRef(cpr="2509479989", name="Bruno Elmer"),
        "created_at": datetime(2026, 1, 5, 12, tzinfo=UTC),
        "now": datetime(2026, 1, 5, 12, tzinfo=UTC),
        "author_name": "Anna Hansen",
        "author_phone": "38683868",
        "link": None,
    }

    def pdf(size: int) -> tuple[Attachment, ...]:
        return (Attachment("Referat", "application/pdf", b"%PDF-" + b"x" * size, common["now"]),)

    fits = fhir_bundle(**common, attachments=pdf(MAX_MESSAGE_BYTES // 2))
    assert len(fits) <= MAX_MESSAGE_BYTES
    with pytest.raises(ValueError, match="over the limit"):
        fhir_bundle(**common, attachments=pdf(MAX_MESSAGE_BYTES))
