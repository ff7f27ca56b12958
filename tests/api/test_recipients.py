"""The recipient's end: a GP practice (and every recipient organisation) opens what it was sent
with its own token, finds its action items by id and closes them."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bridge.adapters.dispatch_types import DispatchSettings
from bridge.adapters.dispatcher import dispatch_once
from bridge.adapters.transport import Transport
from bridge.domain.audit import AuditEvent
from bridge.domain.base import utcnow
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.messages import OrganisationRef
from tests.support.meetings import (
    distributions,
    final_minutes,
    finalise,
    org_participant,
)
from tests.support.receivers import LOOPBACK, HttpReceiver

BASE = "https://bridge.example"


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


@pytest.fixture
def receiver():
    r = HttpReceiver().start()
    yield r
    r.stop()


def _dispatch(session) -> None:
    settings = DispatchSettings(
        base_url=BASE,
        sender=OrganisationRef("Bridge", "265161000016000", "5790000209354"),
        sender_phone="43431234",
        policy=RetryPolicy(rng=random.Random(3)),
        lease=timedelta(minutes=5),
    )
    transport = Transport(http_timeout=2, destinations=LOOPBACK)
    try:
        dispatch_once(session, utcnow(), settings=settings, transport=transport)
    finally:
        transport.close()


def _path(url: str) -> str:
    """A link as the recipient's client follows it against this server."""
    return urlsplit(url).path if url.startswith("http") else url


def gp_item(nurse, gp_org, patient):
    meeting, minutes = final_minutes(
        nurse,
        patient.id,
        action_items=[
            {
                "description": "Blodprøver og EKG",
                "responsible_organisation_id": gp_org.id,
                "due_date": "2026-12-01",
            },
            {"description": "Ring til bostøtten"},
        ],
    )
    return meeting, minutes


def test_every_link_the_gp_is_sent_opens_with_its_own_token(
    session, nurse, gp, gp_org, patient, admin, receiver
):
    """The inbox item's link, the FHIR link attachment, the webhook's link and inbox id."""
    hook = admin.post(
        f"/api/v1/organisations/{gp_org.id}/endpoints",
        json={"channel": "webhook", "url": receiver.url("/hook")},
    )
    assert hook.status_code == 201, hook.json
    fhir = admin.post(
        f"/api/v1/organisations/{gp_org.id}/endpoints",
        json={"channel": "fhir", "url": receiver.url("/fhir")},
    )
    assert fhir.status_code == 201, fhir.json
    _meeting, minutes = gp_item(nurse, gp_org, patient)

    [item] = gp.get("/api/v1/inbox").json["items"]
    opened = gp.get(item["link"])
    assert opened.status_code == 200, opened.json
    assert opened.json["summary"] == minutes["summary"]
    assert [i["description"] for i in opened.json["action_items"]] == [
        "Blodprøver og EKG",
        "Ring til bostøtten",
    ]
    gp_item_id = opened.json["action_items"][0]["id"]
    assert item["ref"]["action_item_ids"] == [gp_item_id]

    _dispatch(session)
    by_path = {r.path: r for r in receiver.received}
    data = json.loads(by_path["/hook"].body)["data"]
    # The webhook names the GP's inbox item, which the GP can read and acknowledge.
    assert data["notification_id"] == data["inbox_item_id"] == item["id"]
    assert gp.get(_path(data["inbox_url"])).status_code == 200
    assert gp.get(_path(data["link"])).json["id"] == minutes["id"]
    bundle = json.loads(by_path["/fhir"].body)
    [attachment] = [
        p["contentAttachment"]["url"]
        for e in bundle["entry"]
        for p in e["resource"].get("payload", [])
        if "contentAttachment" in p
    ]
    assert gp.get(_path(attachment)).status_code == 200
    assert gp.post(f"/api/v1/inbox/{data['inbox_item_id']}/ack").status_code == 200


def test_the_gp_read_of_minutes_is_audited_and_others_get_404(
    session, nurse, gp, gp_org, patient, make_actor, make_patient
):
    meeting, _ = gp_item(nurse, gp_org, patient)
    link = f"/api/v1/meetings/{meeting['id']}/minutes/1"
    assert gp.get(link).status_code == 200
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.patient_id == patient.id,
            AuditEvent.resource_type == "minutes_version",
            AuditEvent.staff_id == gp.id,
        )
    ).all()
    assert [(e.action, e.outcome) for e in events] == [("read", "ok")]

    # Having read them, the GP has the minutes: the distribution is delivered.
    [row] = [
        d
        for d in nurse.get(f"/api/v1/meetings/{meeting['id']}/distributions").json
        if d["recipient_role"] == "gp"
    ]
    assert row["status"] == "delivered" and row["delivered_at"]

    other_gp = make_actor("gp")
    municipality_of_elsewhere = make_actor("hospital")
    for stranger in (other_gp, municipality_of_elsewhere):
        r = stranger.get(link)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
    # A version that does not exist, and a meeting that does not, answer alike.
    assert gp.get(f"/api/v1/meetings/{meeting['id']}/minutes/2").status_code == 404
    assert gp.get("/api/v1/meetings/999999/minutes/1").status_code == 404


def test_the_gp_downloads_the_pdf_of_minutes_sent_to_it_and_strangers_get_404(
    session, nurse, gp, gp_org, patient, make_actor
):
    meeting, _ = gp_item(nurse, gp_org, patient)
    pdf = f"/api/v1/meetings/{meeting['id']}/minutes/1/pdf"
    r = gp.get(pdf)
    assert r.status_code == 200
    assert r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert make_actor("gp").get(pdf).status_code == 404


def test_a_draft_amendment_is_not_readable_by_the_gp_until_final(
    session, nurse, gp, gp_org, patient
):
    meeting, _ = gp_item(nurse, gp_org, patient)
    r = nurse.post(
        f"/api/v1/meetings/{meeting['id']}/minutes/amendments",
        json={"reason": "Forkert dato", "summary": "Rettet resumé"},
    )
    assert r.status_code == 201, r.json
    assert gp.get(f"/api/v1/meetings/{meeting['id']}/minutes/2").status_code == 404
    finalise(nurse, meeting["id"], 2)
    assert gp.get(f"/api/v1/meetings/{meeting['id']}/minutes/2").json["summary"] == "Rettet resumé"


def test_a_gp_no_longer_listed_loses_the_read(session, nurse, gp, gp_org, patient, make_org):
    meeting, _ = gp_item(nurse, gp_org, patient)
    patient.gp_practice_id = make_org("gp_practice").id
    session.commit()
    assert gp.get(f"/api/v1/meetings/{meeting['id']}/minutes/1").status_code == 404


def test_a_participating_department_reads_minutes_and_closes_its_item(
    session, nurse, patient, make_org, make_actor
):
    """A department that took part reads the minutes without the patient being admitted there."""
    dept = make_org("hospital_department")
    staff = make_actor("hospital", organisation=dept)
    meeting, _ = final_minutes(
        nurse,
        patient.id,
        [org_participant(dept.id)],
        action_items=[{"description": "Medicingennemgang", "responsible_organisation_id": dept.id}],
    )
    assert staff.get(f"/api/v1/meetings/{meeting['id']}/minutes/1").status_code == 200
    [item] = staff.get("/api/v1/action-items").json["items"]
    r = staff.patch(f"/api/v1/action-items/{item['id']}", json={"status": "done"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "done"


# --- action items -----------------------------------------------------------------------------


def test_gp_lists_its_own_action_items_and_marks_one_done(
    session, nurse, gp, gp_org, patient, make_actor
):
    meeting, _ = gp_item(nurse, gp_org, patient)
    page = gp.get("/api/v1/action-items?status=open")
    assert page.status_code == 200, page.json
    [item] = page.json["items"]
    assert item["description"] == "Blodprøver og EKG"
    assert item["due_date"] == "2026-12-01"
    assert item["meeting_id"] == meeting["id"]
    assert item["version_no"] == 1
    assert item["patient_id"] == patient.id
    assert gp.get(item["link"]).status_code == 200

    done = gp.patch(f"/api/v1/action-items/{item['id']}", json={"status": "done"})
    assert done.status_code == 200, done.json
    assert gp.get("/api/v1/action-items?status=open").json["items"] == []
    [closed] = gp.get("/api/v1/action-items?status=done").json["items"]
    assert closed["id"] == item["id"] and closed["done_at"]

    # Nobody else sees it or closes it.
    other = make_actor("gp")
    assert other.get("/api/v1/action-items").json["items"] == []
    assert (
        other.patch(f"/api/v1/action-items/{item['id']}", json={"status": "open"}).status_code
        == 404
    )
    assert (
        gp.patch(f"/api/v1/action-items/{item['id']}", json={"status": "cancelled"}).status_code
        == 403
    )


def test_after_an_amendment_only_the_items_in_force_are_listed(session, nurse, gp, gp_org, patient):
    meeting, _ = gp_item(nurse, gp_org, patient)
    r = nurse.post(
        f"/api/v1/meetings/{meeting['id']}/minutes/amendments", json={"reason": "Ny frist"}
    )
    assert r.status_code == 201
    finalise(nurse, meeting["id"], 2)
    [item] = gp.get("/api/v1/action-items").json["items"]
    assert item["version_no"] == 2


def test_own_action_items_cost_the_same_statements_for_more_items(
    session, nurse, gp, gp_org, make_patient, count_queries
):
    def counted() -> int:
        with count_queries() as counter:
            assert gp.get("/api/v1/action-items").status_code == 200
        return counter.count

    gp_item(nurse, gp_org, make_patient(nurse=nurse, gp=gp_org))
    one = counted()
    for _ in range(3):
        gp_item(nurse, gp_org, make_patient(nurse=nurse, gp=gp_org))
    assert counted() == one
    assert len(gp.get("/api/v1/action-items").json["items"]) == 4


def test_municipality_lists_items_of_minutes_that_reached_it_only(
    session, nurse, gp_org, make_patient, make_actor, municipality
):
    kbh = municipality("0101")
    staff = make_actor("municipality", organisation=kbh)
    patient = make_patient(nurse=nurse, gp=gp_org)
    # No consent: the municipality's copy is blocked, so its item is not its to see.
    meeting, _ = final_minutes(
        nurse,
        patient.id,
        action_items=[{"description": "Bostøtte", "responsible_organisation_id": kbh.id}],
    )
    assert staff.get("/api/v1/action-items").json["items"] == []
    rows = {r["recipient_organisation_id"]: r for r in distributions(nurse, meeting["id"])}
    assert rows[kbh.id]["status"] == "blocked"


def test_nurse_may_not_list_recipient_action_items(nurse):
    assert nurse.get("/api/v1/action-items").status_code == 403
