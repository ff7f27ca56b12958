"""The ledger completes: a relative's copy handed over by the nurse, and rows blocked for lack of
consent that become deliverable once a legal basis is recorded."""

from __future__ import annotations

import pytest

from tests.support.meetings import distributions, final_minutes, finalise, org_participant


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def gp_org(make_org):
    return make_org("gp_practice")


@pytest.fixture
def patient(make_patient, nurse, gp_org):
    return make_patient(nurse=nurse, gp=gp_org)


def relative(nurse, patient_id: int, may: bool = True) -> int:
    r = nurse.post(
        f"/api/v1/patients/{patient_id}/relatives",
        json={"name": "Lone Holm", "relation": "mor", "may_receive_information": may},
    )
    assert r.status_code == 201, r.json
    return r.json["id"]


def row_of(nurse, meeting_id: int, **match) -> dict:
    [row] = [
        r for r in distributions(nurse, meeting_id) if all(r[k] == v for k, v in match.items())
    ]
    return row


def test_a_relatives_copy_handed_over_in_person_completes(nurse, patient):
    rel = relative(nurse, patient.id)
    meeting, _ = final_minutes(nurse, patient.id, [{"kind": "relative", "relative_id": rel}])
    row = row_of(nurse, meeting["id"], recipient_relative_id=rel)
    assert row["status"] == "pending" and row["channel"] == "manual"

    r = nurse.post(
        f"/api/v1/distributions/{row['id']}/handover",
        json={"handed_over_to": "Lone Holm (mor)", "method": "in_person"},
    )
    assert r.status_code == 200, r.json
    assert r.json["status"] == "acknowledged"
    assert r.json["handed_over_to"] == "Lone Holm (mor)"
    assert r.json["handover_method"] == "in_person"
    assert r.json["handed_over_by_id"] == nurse.id
    assert r.json["handed_over_at"] == r.json["acknowledged_at"]
    assert row_of(nurse, meeting["id"], recipient_relative_id=rel)["status"] == "acknowledged"
    again = nurse.post(
        f"/api/v1/distributions/{row['id']}/handover",
        json={"handed_over_to": "Lone", "method": "post"},
    )
    assert again.status_code == 409


def test_handover_by_post_is_delivered_and_bad_input_is_named(nurse, patient, make_actor):
    rel = relative(nurse, patient.id)
    meeting, _ = final_minutes(nurse, patient.id, [{"kind": "relative", "relative_id": rel}])
    row = row_of(nurse, meeting["id"], recipient_relative_id=rel)
    url = f"/api/v1/distributions/{row['id']}/handover"
    post = {"handed_over_to": "Lone", "method": "post"}
    for body, field in (
        ({"method": "post"}, "handed_over_to"),
        ({"handed_over_to": "Lone", "method": "pigeon"}, "method"),
        ({**post, "handed_over_at": "2099-01-01T10:00:00+01:00"}, "handed_over_at"),
        ({**post, "handed_over_at": "2020-01-01T10:00:00+01:00"}, "handed_over_at"),
    ):
        r = nurse.post(url, json=body)
        assert r.status_code == 422, (body, r.json)
        assert field in str(r.json["errors"])
    assert (
        make_actor("nurse").post(url, json={"handed_over_to": "x", "method": "post"}).status_code
        == 404
    )
    r = nurse.post(url, json={"handed_over_to": "Lone Holm", "method": "post"})
    assert r.status_code == 200 and r.json["status"] == "delivered"
    gp_row = row_of(nurse, meeting["id"], recipient_role="gp")
    wrong = nurse.post(
        f"/api/v1/distributions/{gp_row['id']}/handover",
        json={"handed_over_to": "x", "method": "post"},
    )
    assert wrong.status_code == 409


def test_recording_consent_releases_the_blocked_municipality_row(
    session, nurse, patient, municipality, make_actor
):
    kbh = municipality("0101")
    meeting, minutes = final_minutes(nurse, patient.id)
    row = row_of(nurse, meeting["id"], recipient_organisation_id=kbh.id)
    assert row["status"] == "blocked"
    refused = nurse.post(f"/api/v1/distributions/{row['id']}/release", json={})
    assert refused.status_code == 409

    r = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "municipality", "scope": "minutes"},
    )
    assert r.status_code == 201, r.json
    after = row_of(nurse, meeting["id"], recipient_organisation_id=kbh.id)
    assert after["status"] == "sent"
    assert after["legal_basis"] == f"consent:{r.json['id']}"
    assert after["blocked_reason"] is None
    # The municipality now finds the summary in its feed.
    staff = make_actor("municipality", organisation=kbh)
    feed = staff.get("/api/v1/municipalities/0101/meeting-summaries").json["items"]
    assert [s["id"] for s in feed] == [minutes["id"]]


def test_release_of_a_department_row_sends_its_medcom_message(
    session, nurse, patient, make_org, make_actor
):
    facility = make_org("social_psychiatry_facility")
    meeting, _ = final_minutes(nurse, patient.id, [org_participant(facility.id)])
    row = row_of(nurse, meeting["id"], recipient_organisation_id=facility.id)
    assert row["status"] == "blocked"
    consent = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_organisation_id": facility.id, "scope": "all"},
    )
    assert consent.status_code == 201
    after = row_of(nurse, meeting["id"], recipient_organisation_id=facility.id)
    assert after["status"] == "pending"  # a MedCom recipient: queued in the outbox
    staff = make_actor("hospital", organisation=facility)
    [item] = staff.get("/api/v1/inbox").json["items"]
    assert item["ref"]["distribution_id"] == row["id"]
    assert staff.get(item["link"]).status_code == 200


def test_a_treating_municipality_is_released_on_the_nurses_word(nurse, patient, municipality):
    kbh = municipality("0101")
    meeting, _ = final_minutes(nurse, patient.id, [org_participant(kbh.id)])
    row = row_of(nurse, meeting["id"], recipient_organisation_id=kbh.id)
    assert row["status"] == "blocked"
    r = nurse.post(
        f"/api/v1/distributions/{row['id']}/release", json={"basis": "treating_health_care"}
    )
    assert r.status_code == 200, r.json
    assert r.json["legal_basis"] == "statutory:treating-health-professionals"


def test_superseded_minutes_are_not_released(nurse, patient, municipality):
    kbh = municipality("0101")
    meeting, _ = final_minutes(nurse, patient.id, [org_participant(kbh.id)])
    old = row_of(nurse, meeting["id"], recipient_organisation_id=kbh.id)
    r = nurse.post(
        f"/api/v1/meetings/{meeting['id']}/minutes/amendments", json={"reason": "Rettelse"}
    )
    assert r.status_code == 201
    finalise(nurse, meeting["id"], 2)
    r = nurse.post(
        f"/api/v1/distributions/{old['id']}/release", json={"basis": "treating_health_care"}
    )
    assert r.status_code == 409
