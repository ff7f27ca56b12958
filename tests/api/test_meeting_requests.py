"""The patient's municipality, GP and hospital department ask for a network meeting; it lands on
the nurse's worklist with the request-to-meeting deadline and its flag."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bridge.domain.base import utcnow
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag
from bridge.domain.meetings.models import NetworkMeeting
from tests.support.care import admit


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def gp_org(make_org):
    return make_org("gp_practice")


@pytest.fixture
def patient(make_patient, nurse, gp_org):
    return make_patient(nurse=nurse, gp=gp_org)


def ask(actor, patient_id: int, **body):
    return actor.post(
        "/api/v1/meeting-requests",
        json={"patient_id": patient_id, "reason": "Tiltagende isolation", **body},
    )


def test_gp_municipality_and_department_request_meetings_that_reach_the_nurse(
    session, nurse, gp_org, patient, make_actor, make_org, municipality
):
    gp = make_actor("gp", organisation=gp_org)
    kbh = make_actor("municipality", organisation=municipality("0101"))
    dept = make_org("hospital_department")
    hospital = make_actor("hospital", organisation=dept)
    assert admit(nurse, patient, dept).status_code == 201

    made = []
    for actor, kind in ((gp, "gp"), (kbh, "municipality"), (hospital, "hospital")):
        r = ask(actor, patient.id, urgency="urgent", attendees=[{"organisation_id": gp_org.id}])
        assert r.status_code == 201, r.json
        assert r.json["status"] == "requested"
        assert r.json["urgency"] == "urgent"
        assert r.json["hold_by"]
        made.append((r.json["id"], kind, actor.organisation_id))

    listed = nurse.get(f"/api/v1/meetings?patient={patient.id}&status=requested").json["items"]
    by_id = {m["id"]: m for m in listed}
    for meeting_id, kind, org_id in made:
        m = by_id[meeting_id]
        assert m["requested_by_kind"] == kind
        assert m["requested_by_organisation_id"] == org_id
        assert m["organiser_id"] == nurse.id
        assert m["agenda"] == "Tiltagende isolation"
        assert {p["organisation_id"] for p in m["participants"]} == {org_id, gp_org.id}
    # The requester sees its own requests.
    assert [m["id"] for m in gp.get("/api/v1/meeting-requests").json] == [made[0][0]]


def test_an_unheld_request_is_overdue_and_flagged_after_the_deadline(
    session, nurse, gp_org, patient, make_actor
):
    gp = make_actor("gp", organisation=gp_org)
    r = ask(gp, patient.id)
    assert r.status_code == 201, r.json
    meeting = session.get(NetworkMeeting, r.json["id"])
    later = meeting.hold_by + timedelta(hours=1)
    assert not meeting.overdue(utcnow())
    assert meeting.overdue(later)
    run_gap_scan(session, now=later)
    flags = session.query(Flag).filter_by(subject_type="network_meeting", subject_id=meeting.id)
    assert [f.rule for f in flags] == ["meeting_request_not_scheduled"]


def test_bad_requests_are_refused_with_the_field_named(nurse, patient, gp_org, make_actor):
    gp = make_actor("gp", organisation=gp_org)
    r = gp.post("/api/v1/meeting-requests", json={"patient_id": patient.id, "reason": "  "})
    assert r.status_code == 422
    assert "reason" in r.json["errors"]
    r = ask(gp, patient.id, urgency="yesterday")
    assert r.status_code == 422 and "urgency" in str(r.json["errors"])
    r = ask(gp, patient.id, attendees=[{"organisation_id": 999_999}])
    assert r.status_code == 422 and "attendees.0.organisation_id" in r.json["errors"]


def test_somebody_elses_patient_is_404_and_the_nurse_uses_the_meetings_api(
    nurse, patient, make_actor
):
    assert ask(make_actor("gp"), patient.id).status_code == 404
    assert ask(make_actor("hospital"), patient.id).status_code == 404
    assert ask(nurse, patient.id).status_code == 403
