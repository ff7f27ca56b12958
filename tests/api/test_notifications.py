"""The outbox through its public interface: enqueue, inbox, acknowledgements, endpoints."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from bridge.adapters.fhir_acknowledgement import build_acknowledgement
from bridge.domain.errors import RuleViolation
from bridge.domain.notifications import (
    NotificationEvent,
    distribution_status_for,
    enqueue_many,
    enqueue_notification,
    register_ack_handler,
)
from bridge.domain.notifications.messages import OrganisationRef
from bridge.domain.notifications.models import (
    Channel,
    DeliveryEndpoint,
    Notification,
    NotificationStatus,
)
from bridge.domain.notifications.outcomes import _handlers
from bridge.domain.registry.models import Organisation
from tests.support.medcom import medcom_example


@pytest.fixture
def gp_setup(make_actor, make_patient, make_org):
    gp_org = make_org("gp_practice")
    gp = make_actor("gp", organisation=gp_org)
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse, gp=gp_org, name="Bruno Elmer")
    return gp, gp_org, patient


def enqueue(session, org_id, patient_id, key="minutes-12", kind="minutes_final", **payload):
    rows = enqueue_notification(
        session,
        recipient_organisation_id=org_id,
        kind=kind,
        patient_id=patient_id,
        payload={
            "ref": {"type": "minutes_version", "id": 12, "patient_id": patient_id},
            "link": "/api/v1/meetings/5/minutes/12",
            "action_items": ["Bestil blodprøver inden 14 dage"],
            **payload,
        },
        source_type="distribution",
        source_id=99,
        idempotency_key=key,
    )
    session.commit()
    return rows


def add_endpoint(session, org, channel, **fields):
    endpoint = DeliveryEndpoint(organisation_id=org.id, channel=Channel(channel), **fields)
    session.add(endpoint)
    session.commit()
    return endpoint


# --- enqueue ----------------------------------------------------------------------------------


def test_enqueue_writes_the_inbox_and_one_row_per_configured_channel(session, gp_setup):
    _, gp_org, patient = gp_setup
    add_endpoint(session, gp_org, "fhir", url="http://127.0.0.1:9/fhir")
    add_endpoint(session, gp_org, "email", email="gp@example.org")

    rows = enqueue(session, gp_org.id, patient.id)

    assert sorted(r.channel.value for r in rows) == ["email", "fhir", "inbox"]
    inbox = next(r for r in rows if r.channel == Channel.INBOX)
    assert inbox.status == NotificationStatus.DELIVERED
    fhir = next(r for r in rows if r.channel == Channel.FHIR)
    assert fhir.message_header_id and fhir.status == NotificationStatus.PENDING
    email = next(r for r in rows if r.channel == Channel.EMAIL)
    assert "text" not in email.payload  # no rendered health text where it could leak


def test_enqueue_twice_with_the_same_key_creates_nothing_more(session, gp_setup):
    _, gp_org, patient = gp_setup
    add_endpoint(session, gp_org, "email", email="gp@example.org")

    first = enqueue(session, gp_org.id, patient.id, key="k-1")
    second = enqueue(session, gp_org.id, patient.id, key="k-1")

    assert [r.id for r in first] == [r.id for r in second]
    count = session.scalars(select(Notification).where(Notification.event_key == "k-1")).all()
    assert len(count) == 2


def test_disabled_endpoints_get_no_rows_but_the_inbox_always_does(session, gp_setup):
    _, gp_org, patient = gp_setup
    add_endpoint(session, gp_org, "email", email="gp@example.org", active=False)

    rows = enqueue(session, gp_org.id, patient.id)

    assert [r.channel for r in rows] == [Channel.INBOX]


def test_enqueue_of_an_unknown_patient_or_organisation_is_refused(session, gp_setup):
    _, gp_org, patient = gp_setup

    with pytest.raises(RuleViolation) as no_patient:
        enqueue(session, gp_org.id, 2_000_000_000)
    with pytest.raises(RuleViolation) as no_org:
        enqueue(session, 2_000_000_000, patient.id)

    assert set(no_patient.value.errors) == {"patient_id"}
    assert set(no_org.value.errors) == {"recipient_organisation_id"}


def event(org_id, patient_id, key):
    return NotificationEvent(
        recipient_organisation_id=org_id,
        kind="discharge",
        patient_id=patient_id,
        payload={"ref": {"type": "admission", "id": 1}, "link": "/api/v1/x"},
        source_type=None,
        source_id=None,
        idempotency_key=key,
    )


def test_enqueue_many_writes_each_new_event_once_with_its_inbox_row(
    session, gp_setup, make_org, make_patient
):
    _, gp_org, patient = gp_setup
    other_org = make_org("gp_practice")
    other = make_patient(gp=other_org, name="Ida Holm")
    add_endpoint(session, gp_org, "webhook", url="https://gp.example/hook", secret="whsec_x")
    enqueue(session, gp_org.id, patient.id, key="old")

    rows = enqueue_many(
        session,
        [
            event(gp_org.id, patient.id, "old"),  # enqueued before: skipped
            event(gp_org.id, patient.id, "new-1"),
            event(gp_org.id, patient.id, "new-1"),  # a repeat within the batch: skipped
            event(other_org.id, other.id, "new-2"),
            event(other_org.id, None, "new-3"),
        ],
    )
    again = enqueue_many(session, [event(gp_org.id, patient.id, "new-1")])

    assert again == []
    assert sorted((r.event_key, r.channel.value) for r in rows) == [
        ("new-1", "inbox"),
        ("new-1", "webhook"),
        ("new-2", "inbox"),
        ("new-3", "inbox"),
    ]
    by_key = {(r.event_key, r.channel): r for r in rows}
    inbox, hook = by_key["new-1", Channel.INBOX], by_key["new-1", Channel.WEBHOOK]
    assert hook.payload["inbox_id"] == inbox.id and "text" not in hook.payload
    assert hook.status == NotificationStatus.PENDING and hook.next_attempt_at is not None
    assert inbox.status == NotificationStatus.DELIVERED
    assert "Ida Holm" in by_key["new-2", Channel.INBOX].payload["text"]["da"]["body"]
    assert "Ida Holm" not in inbox.payload["text"]["da"]["body"]
    with pytest.raises(ValueError, match="no such patient"):
        enqueue_many(session, [event(gp_org.id, 2_000_000_000, "new-4")])


# --- inbox ------------------------------------------------------------------------------------


def test_gp_reads_the_inbox_with_patient_name_and_masked_cpr(session, gp_setup):
    gp, gp_org, patient = gp_setup
    enqueue(session, gp_org.id, patient.id)

    r = gp.get("/api/v1/inbox")

    assert r.status_code == 200, r.json
    (item,) = r.json["items"]
    assert item["patient_name"] == "Bruno Elmer"
    assert item["patient_cpr_masked"] == patient.cpr[:6] + "-xxxx"
    assert patient.cpr not in json.dumps(r.json)
    assert item["subject"] == "Referat fra netværksmøde"
    assert "Bestil blodprøver" in item["body"]
    assert item["ref"] == {"type": "minutes_version", "id": 12, "patient_id": patient.id}


def test_inbox_in_english_on_request(session, gp_setup):
    gp, gp_org, patient = gp_setup
    enqueue(session, gp_org.id, patient.id)

    r = gp.get("/api/v1/inbox?lang=en")

    assert r.json["items"][0]["subject"] == "Minutes of a network meeting"


def test_another_organisation_sees_nothing_and_cannot_acknowledge(session, gp_setup, make_actor):
    _, gp_org, patient = gp_setup
    (inbox,) = enqueue(session, gp_org.id, patient.id)
    other = make_actor("gp")

    assert other.get("/api/v1/inbox").json["items"] == []
    assert other.post(f"/api/v1/inbox/{inbox.id}/ack").status_code == 404
    assert other.get(f"/api/v1/inbox/{inbox.id}").status_code == 404


def test_acknowledging_in_the_inbox_reports_to_the_source_handler(session, gp_setup):
    gp, gp_org, patient = gp_setup
    (inbox,) = enqueue(session, gp_org.id, patient.id)
    heard = []
    # The meetings area registers the real "distribution" handler at import: put it back after.
    previous = _handlers.get("distribution")
    register_ack_handler("distribution", lambda s, sid, status, at: heard.append((sid, status)))
    try:
        r = gp.post(f"/api/v1/inbox/{inbox.id}/ack")
        again = gp.post(f"/api/v1/inbox/{inbox.id}/ack")
    finally:
        _handlers.pop("distribution")
        if previous is not None:
            _handlers["distribution"] = previous

    assert r.status_code == 200, r.json
    assert r.json["status"] == "acknowledged"
    assert again.json["acknowledged_at"] == r.json["acknowledged_at"]
    assert heard == [(99, NotificationStatus.ACKNOWLEDGED)]
    assert distribution_status_for(session, "distribution", [99, 100]) == {
        99: NotificationStatus.ACKNOWLEDGED
    }


def test_inbox_pages_with_a_cursor_and_can_hide_acknowledged(session, gp_setup):
    gp, gp_org, patient = gp_setup
    ids = [enqueue(session, gp_org.id, patient.id, key=f"k{i}")[0].id for i in range(3)]
    gp.post(f"/api/v1/inbox/{ids[0]}/ack")

    first = gp.get("/api/v1/inbox?limit=2").json
    second = gp.get(f"/api/v1/inbox?limit=2&cursor={first['next_cursor']}").json
    open_only = gp.get("/api/v1/inbox?unacknowledged=true").json

    assert [i["id"] for i in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert [i["id"] for i in open_only["items"]] == ids[:0:-1]


def test_inbox_list_costs_the_same_queries_for_one_or_many(
    session, gp_setup, make_patient, count_queries
):
    gp, gp_org, patient = gp_setup
    enqueue(session, gp_org.id, patient.id, key="one")
    with count_queries() as one:
        assert len(gp.get("/api/v1/inbox").json["items"]) == 1
    for i in range(6):
        other = make_patient(gp=gp_org)
        enqueue(session, gp_org.id, other.id, key=f"many-{i}")
    with count_queries() as many:
        assert len(gp.get("/api/v1/inbox").json["items"]) == 7

    assert many.count == one.count


# --- MedCom acknowledgements ------------------------------------------------------------------


def medcom_ack(name: str, header_id: str) -> dict:
    bundle = medcom_example(name)
    bundle = copy.deepcopy(bundle)
    bundle["entry"][0]["resource"]["response"]["identifier"] = header_id
    return bundle


@pytest.fixture
def fhir_row(session, gp_setup):
    gp, gp_org, patient = gp_setup
    add_endpoint(session, gp_org, "fhir", url="http://127.0.0.1:9/fhir")
    rows = enqueue(session, gp_org.id, patient.id)
    row = next(r for r in rows if r.channel == Channel.FHIR)
    row.status = NotificationStatus.SENT
    row.attempts = 1
    session.commit()
    return gp, row


def post_ack(actor, bundle):
    return actor.post(
        "/api/v1/fhir/acknowledgements",
        data=json.dumps(bundle),
        headers={"Content-Type": "application/fhir+json"},
    )


def test_medcom_ok_acknowledgement_marks_the_message_acknowledged(session, fhir_row):
    gp, row = fhir_row

    r = post_ack(gp, medcom_ack("ack-01-ok.json", row.message_header_id))

    assert r.status_code == 200, r.json
    assert r.json["status"] == "acknowledged"
    session.refresh(row)
    assert row.acknowledged_at is not None and row.next_attempt_at is None


def test_medcom_transient_error_puts_the_message_back_for_a_retry(session, fhir_row):
    gp, row = fhir_row

    r = post_ack(gp, medcom_ack("ack-03-transient-error.json", row.message_header_id))

    assert r.status_code == 200, r.json
    session.refresh(row)
    assert row.status == NotificationStatus.PENDING
    assert row.next_attempt_at is not None
    assert "transient-error" in row.last_error


def test_medcom_fatal_error_fails_the_message_with_the_reason(session, fhir_row):
    gp, row = fhir_row
    example = medcom_example("ack-02-fatal-error.json")
    (outcome,) = [
        e["resource"]
        for e in example["entry"]
        if e["resource"]["resourceType"] == "OperationOutcome"
    ]
    reason = outcome["issue"][0]["details"]["coding"][0]["code"]  # MedCom's error code

    r = post_ack(gp, medcom_ack("ack-02-fatal-error.json", row.message_header_id))

    assert r.status_code == 200, r.json
    assert r.json["status"] == "failed"
    assert reason in r.json["last_error"]


def test_a_late_acknowledgement_does_not_undo_the_first(session, fhir_row):
    gp, row = fhir_row
    org = session.get(Organisation, row.recipient_organisation_id)
    gp_ref = OrganisationRef(org.name, org.sor_code, org.gln)
    bridge_ref = OrganisationRef("Psykiatrisk Center Ballerup", "265161000016000", "5790000209354")

    ok = post_ack(gp, build_acknowledgement(row.message_header_id, "ok", gp_ref, bridge_ref))
    late = post_ack(
        gp, build_acknowledgement(row.message_header_id, "fatal-error", gp_ref, bridge_ref)
    )

    assert ok.status_code == late.status_code == 200, late.json
    assert late.json["status"] == "acknowledged" and late.json["last_error"] is None
    assert late.json["acknowledged_at"] == ok.json["acknowledged_at"]


def test_acknowledgement_from_another_organisation_is_not_found(session, fhir_row, make_actor):
    _, row = fhir_row
    stranger = make_actor("gp")

    r = post_ack(stranger, medcom_ack("ack-01-ok.json", row.message_header_id))

    assert r.status_code == 404
    session.refresh(row)
    assert row.status == NotificationStatus.SENT


def test_something_that_is_not_an_acknowledgement_is_422(fhir_row):
    gp, _ = fhir_row

    r = post_ack(gp, {"resourceType": "Patient"})
    cc = medcom_example("cc-01-new-message.json")
    r2 = post_ack(gp, cc)

    assert r.status_code == 422 and "body" in r.json["errors"]
    assert r2.status_code == 422


# --- endpoints --------------------------------------------------------------------------------


def test_admin_configures_a_webhook_and_sees_its_secret_once(session, make_actor, make_org):
    admin = make_actor("admin")
    org = make_org("gp_practice")
    url = f"/api/v1/organisations/{org.id}/endpoints"

    created = admin.post(url, json={"channel": "webhook", "url": "https://gp.example/hook"})
    listed = admin.get(url)

    assert created.status_code == 201, created.json
    assert created.json["secret"].startswith("whsec_")
    assert listed.status_code == 200
    assert created.json["secret"] not in json.dumps(listed.json)
    assert listed.json[0]["channel"] == "webhook"


def test_rotating_a_webhook_secret_keeps_the_old_one_during_the_overlap(
    session, make_actor, make_org
):
    admin = make_actor("admin")
    org = make_org("gp_practice")
    url = f"/api/v1/organisations/{org.id}/endpoints"
    created = admin.post(url, json={"channel": "webhook", "url": "https://gp.example/hook"}).json
    endpoint_id = created["endpoint"]["id"]

    rotated = admin.post(f"{url}/{endpoint_id}/rotate-secret", json={"overlap_hours": 2})

    assert rotated.status_code == 200, rotated.json
    assert rotated.json["secret"] != created["secret"]
    endpoint = session.get(DeliveryEndpoint, endpoint_id)
    session.refresh(endpoint)
    assert endpoint.previous_secret == created["secret"]
    assert endpoint.previous_valid_until is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "webhook", "url": "ftp://gp.example"}, "url"),
        ({"channel": "inbox"}, "channel"),
        ({"channel": "email", "email": "not-an-address"}, "email"),
        ({"channel": "email", "email": "a@b.dk", "secret": "x"}, "secret"),
    ],
)
def test_bad_endpoint_configuration_is_422(make_actor, make_org, body, field):
    admin = make_actor("admin")
    org = make_org("gp_practice")

    r = admin.post(f"/api/v1/organisations/{org.id}/endpoints", json=body)

    assert r.status_code == 422, r.json
    assert field in r.json["errors"]


def test_second_endpoint_of_a_channel_is_a_conflict_and_only_admins_configure(make_actor, make_org):
    admin = make_actor("admin")
    org = make_org("gp_practice")
    gp = make_actor("gp", organisation=org)
    url = f"/api/v1/organisations/{org.id}/endpoints"
    admin.post(url, json={"channel": "fhir", "url": "https://gp.example/fhir"})

    again = admin.post(url, json={"channel": "fhir", "url": "https://gp.example/fhir2"})
    by_gp = gp.post(url, json={"channel": "email", "email": "gp@example.org"})

    assert again.status_code == 409
    assert by_gp.status_code == 403


def test_admin_re_enables_an_endpoint_the_receiver_disabled(session, make_actor, make_org):
    admin = make_actor("admin")
    org = make_org("gp_practice")
    endpoint = add_endpoint(
        session,
        org,
        "webhook",
        url="https://gp.example/hook",
        secret="whsec_" + "A" * 44,
        active=False,
        disabled_reason="the receiver answered 410 Gone",
    )

    r = admin.patch(
        f"/api/v1/organisations/{org.id}/endpoints/{endpoint.id}",
        json={"active": True, "url": "https://gp.example/new-hook"},
    )

    assert r.status_code == 200, r.json
    assert r.json["active"] is True and r.json["disabled_reason"] is None
    assert r.json["url"] == "https://gp.example/new-hook"
