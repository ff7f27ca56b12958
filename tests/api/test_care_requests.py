"""Issue 13, access item 3: registering a CPR number does not tell a nurse whether someone else's
patient has it; the route for a person already in Bridge is a rate-limited request to join their
care, in the patient's access log, decided by their current nurse (or an admin)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bridge.domain import access
from bridge.domain.audit import AuditEvent

UNKNOWN_CPR = "0101011234"


def _register(actor, cpr: str, municipality_id: int, **extra):
    return actor.post(
        "/api/v1/patients",
        json={"cpr": cpr, "name": "Ny Person", "municipality_id": municipality_id, **extra},
    )


@pytest.fixture
def setup(make_actor, make_patient, municipality):
    current = make_actor("nurse")
    patient = make_patient(nurse=current, name="Hemmelig Person")
    return current, patient, make_actor("nurse"), municipality().id


def test_registering_someone_elses_patient_sends_a_care_request_and_discloses_nothing(
    session, setup
):
    current, patient, newcomer, muni = setup
    r = _register(newcomer, patient.cpr, muni, care_request_reason="flyttet til min kommune")
    assert r.status_code == 202, r.json
    text = r.get_data(as_text=True)
    assert "Hemmelig" not in text and patient.cpr not in text
    assert r.json["patient_id"] is None and r.json["status"] == "pending"
    assert newcomer.get(f"/api/v1/patients/{patient.id}").status_code == 404

    # The act is in the patient's access log, as a care request.
    log = current.get(f"/api/v1/patients/{patient.id}/access-log").json["items"]
    assert any(
        e["staff_id"] == newcomer.id
        and e["resource_type"] == "care_request"
        and e["basis"] == "care_request"
        for e in log
    )
    # It reaches the patient's current nurse, who sees whom it is about.
    incoming = current.get("/api/v1/care-requests").json["items"]
    assert [(i["id"], i["patient_id"], i["reason"]) for i in incoming] == [
        (r.json["id"], patient.id, "flyttet til min kommune")
    ]
    # The requester sees her request, but not the patient's id.
    outgoing = newcomer.get("/api/v1/care-requests").json["items"]
    assert [(i["id"], i["patient_id"]) for i in outgoing] == [(r.json["id"], None)]
    # Asking again while pending is the same request.
    again = _register(newcomer, patient.cpr, muni)
    assert again.status_code == 202 and again.json["id"] == r.json["id"]


def test_accepting_hands_the_course_to_the_requester(setup):
    current, patient, newcomer, muni = setup
    request_id = _register(newcomer, patient.cpr, muni).json["id"]
    r = current.post(f"/api/v1/care-requests/{request_id}/accept", json={"note": "velkommen"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "accepted" and r.json["patient_id"] == patient.id
    assert newcomer.get(f"/api/v1/patients/{patient.id}").status_code == 200
    assert current.get(f"/api/v1/patients/{patient.id}").status_code == 404
    outgoing = newcomer.get("/api/v1/care-requests").json["items"]
    assert outgoing[0]["patient_id"] == patient.id
    # Decided once.
    assert newcomer.post(f"/api/v1/care-requests/{request_id}/decline", json={}).status_code == 409


def test_declining_leaves_everything_as_it_was(setup):
    current, patient, newcomer, muni = setup
    request_id = _register(newcomer, patient.cpr, muni).json["id"]
    r = current.post(f"/api/v1/care-requests/{request_id}/decline", json={})
    assert r.status_code == 200 and r.json["status"] == "declined"
    assert newcomer.get(f"/api/v1/patients/{patient.id}").status_code == 404
    assert current.get(f"/api/v1/patients/{patient.id}").status_code == 200
    assert newcomer.get("/api/v1/care-requests").json["items"][0]["status"] == "declined"


def test_only_the_current_nurse_or_an_admin_decides(setup, make_actor):
    _current, patient, newcomer, muni = setup
    request_id = _register(newcomer, patient.cpr, muni).json["id"]
    assert newcomer.post(f"/api/v1/care-requests/{request_id}/accept", json={}).status_code == 403
    stranger = make_actor("nurse")
    foreign = stranger.post(f"/api/v1/care-requests/{request_id}/accept", json={})
    missing = stranger.post(f"/api/v1/care-requests/{2**31 - 1}/accept", json={})
    assert foreign.status_code == missing.status_code == 404
    assert stranger.get("/api/v1/care-requests").json["items"] == []
    admin = make_actor("admin")
    assert admin.post(f"/api/v1/care-requests/{request_id}/accept", json={}).status_code == 200


def test_without_a_course_an_admin_decides_and_accepting_starts_one(
    make_actor, make_patient, municipality
):
    patient = make_patient()  # nobody's course
    newcomer, admin = make_actor("nurse"), make_actor("admin")
    request_id = _register(newcomer, patient.cpr, municipality().id).json["id"]
    assert [i["id"] for i in admin.get("/api/v1/care-requests").json["items"]] == [request_id]
    assert admin.post(f"/api/v1/care-requests/{request_id}/accept", json={}).status_code == 200
    courses = newcomer.get(f"/api/v1/patients/{patient.id}/enrollments").json
    assert [(c["nurse_id"], c["active"]) for c in courses] == [(newcomer.id, True)]


def test_one_she_already_sees_is_a_plain_conflict(make_actor, make_patient, municipality):
    nurse = make_actor("nurse")
    mine = make_patient(nurse=nurse)
    r = _register(nurse, mine.cpr, municipality().id)
    assert r.status_code == 409 and r.json["patient_id"] == mine.id


def test_registrations_are_rate_limited_before_the_number_is_looked_up(
    session, monkeypatch, setup, make_actor
):
    _current, patient, newcomer, muni = setup
    monkeypatch.setattr(access, "_settings", access.AccessSettings(registrations_per_day=2))
    assert _register(newcomer, "0202801234", muni).status_code == 201
    assert _register(newcomer, patient.cpr, muni).status_code == 202
    known = _register(newcomer, patient.cpr, muni)
    unknown = _register(newcomer, UNKNOWN_CPR, muni)
    assert known.status_code == unknown.status_code == 429
    assert known.headers["Retry-After"] and unknown.headers["Retry-After"]
    assert {k: v for k, v in known.json.items() if k != "request_id"} == {
        k: v for k, v in unknown.json.items() if k != "request_id"
    }
    # An admin sees every patient, so nothing is disclosed to her and she is not limited.
    admin = make_actor("admin")
    for _ in range(3):
        assert _register(admin, patient.cpr, muni).status_code == 409
    refused = session.scalars(
        select(AuditEvent).where(
            AuditEvent.staff_id == newcomer.id, AuditEvent.outcome == "rejected"
        )
    ).all()
    assert len(refused) == 2


def test_search_by_cpr_answers_alike_for_someone_elses_patient_and_an_unknown_number(setup):
    _current, patient, newcomer, _muni = setup
    foreign = newcomer.post("/api/v1/patients/search", json={"cpr": patient.cpr})
    unknown = newcomer.post("/api/v1/patients/search", json={"cpr": UNKNOWN_CPR})
    assert foreign.status_code == unknown.status_code == 404
    assert {k: v for k, v in foreign.json.items() if k != "request_id"} == {
        k: v for k, v in unknown.json.items() if k != "request_id"
    }
