"""Network meetings, minutes and their distribution, through the API on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.domain.calendar import DEFAULT_CALENDAR
from tests.support.meetings import (
    distributions,
    draft_minutes,
    final_minutes,
    finalise,
    held_meeting,
    iso,
    org_participant,
    past_slot,
    plan_meeting,
)


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def gp_org(make_org):
    return make_org("gp_practice")


@pytest.fixture
def patient(make_patient, nurse, gp_org):
    return make_patient(nurse=nurse, gp=gp_org)


def by_org(rows: list[dict], org_id: int, version_id: int | None = None) -> dict:
    [row] = [
        r
        for r in rows
        if r["recipient_organisation_id"] == org_id
        and (version_id is None or r["minutes_version_id"] == version_id)
    ]
    return row


# --- meetings -----------------------------------------------------------------------------------


def test_nurse_plans_holds_and_records_attendance(nurse, patient, make_org):
    dept = make_org("hospital_department")
    meeting = plan_meeting(nurse, patient.id, [org_participant(dept.id, person_name="Dr. Hansen")])
    assert meeting["status"] == "planned"
    assert meeting["organiser_id"] == nurse.id
    assert meeting["scheduled_start"].endswith(("+01:00", "+02:00"))
    participant_id = meeting["participants"][0]["id"]

    r = nurse.post(
        f"/api/v1/meetings/{meeting['id']}/hold",
        json={"attendance": [{"participant_id": participant_id, "attended": False}]},
    )
    assert r.status_code == 200, r.json
    assert r.json["status"] == "held"
    assert r.json["participants"][0]["attended"] is False

    r = nurse.put(
        f"/api/v1/meetings/{meeting['id']}/attendance",
        json={"attendance": [{"participant_id": participant_id, "attended": True}]},
    )
    assert r.status_code == 200, r.json
    assert r.json["participants"][0]["attended"] is True


def test_request_at_discharge_starts_the_working_day_clock(nurse, patient, make_org):
    hospital = make_org("hospital_department")
    # 23 December: Christmas and the weekend push the deadline well past five calendar days.
    requested_at = datetime(2025, 12, 23, 10, 0, tzinfo=UTC)
    r = nurse.post(
        "/api/v1/meetings",
        json={
            "patient_id": patient.id,
            "requested_by": {
                "kind": "hospital",
                "organisation_id": hospital.id,
                "person": "Overlæge Jensen",
                "requested_at": iso(requested_at),
                "at_discharge": True,
            },
        },
    )
    assert r.status_code == 201, r.json
    assert r.json["status"] == "requested"
    assert r.json["requested_by_organisation_id"] == hospital.id
    expected = DEFAULT_CALENDAR.deadline_after(requested_at, 5)
    assert datetime.fromisoformat(r.json["hold_by"]) == expected
    assert expected == datetime(2026, 1, 2, 23, 0, tzinfo=UTC)  # end of Friday 2 January

    r = nurse.post(f"/api/v1/meetings/{r.json['id']}/plan", json=past_slot())
    assert r.status_code == 200, r.json
    assert r.json["status"] == "planned"


def test_illegal_transitions_answer_409_with_the_allowed_next_states(nurse, patient):
    r = nurse.post(
        "/api/v1/meetings", json={"patient_id": patient.id, "requested_by": {"kind": "patient"}}
    )
    meeting_id = r.json["id"]
    r = nurse.post(f"/api/v1/meetings/{meeting_id}/hold", json={})
    assert r.status_code == 409
    assert r.json["allowed"] == ["cancelled", "planned"]

    held = held_meeting(nurse, patient.id)
    r = nurse.post(f"/api/v1/meetings/{held['id']}/cancel", json={"reason": "sygdom"})
    assert r.status_code == 409
    assert r.json["allowed"] == []


def test_meeting_rules_answer_with_the_field_or_the_allowed_states(nurse, patient):
    start = datetime.now(UTC) + timedelta(days=1)
    future = nurse.post(
        "/api/v1/meetings",
        json={
            "patient_id": patient.id,
            "scheduled_start": iso(start),
            "scheduled_end": iso(start + timedelta(hours=1)),
        },
    ).json
    r = nurse.post(f"/api/v1/meetings/{future['id']}/hold", json={})
    assert r.status_code == 422
    assert "scheduled_start" in r.json["errors"]
    r = nurse.put(f"/api/v1/meetings/{future['id']}/attendance", json={"attendance": []})
    assert r.status_code == 409
    assert r.json["allowed"] == ["cancelled", "held"]
    r = nurse.post(f"/api/v1/meetings/{future['id']}/minutes/amendments", json={"reason": "x"})
    assert r.status_code == 409

    planned = plan_meeting(nurse, patient.id)
    r = nurse.post(
        f"/api/v1/meetings/{planned['id']}/hold",
        json={"attendance": [{"participant_id": 10**9, "attended": True}]},
    )
    assert r.status_code == 422
    assert "attendance.0.participant_id" in r.json["errors"]

    held = held_meeting(nurse, patient.id)
    url = f"/api/v1/meetings/{held['id']}"
    etag = nurse.get(url).headers["ETag"]
    r = nurse.patch(url, json={"place": "Rådhuset"}, headers={"If-Match": etag})
    assert r.status_code == 409
    assert r.json["allowed"] == []
    draft_minutes(nurse, held["id"])
    r = nurse.post(f"{url}/minutes", json={"summary": "igen"})
    assert r.status_code == 409
    assert r.json["allowed"] == ["amended"]


def test_cancelling_needs_a_reason_and_ends_the_meeting(nurse, patient):
    meeting = plan_meeting(nurse, patient.id)
    r = nurse.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={})
    assert r.status_code == 422
    assert "reason" in r.json["errors"]
    r = nurse.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={"reason": "indlagt"})
    assert r.status_code == 200
    assert r.json["cancel_reason"] == "indlagt"
    r = nurse.post(f"/api/v1/meetings/{meeting['id']}/plan", json=past_slot())
    assert r.status_code == 409


def test_meeting_cannot_end_before_it_starts(nurse, patient):
    start = datetime.now(UTC)
    r = nurse.post(
        "/api/v1/meetings",
        json={
            "patient_id": patient.id,
            "scheduled_start": iso(start),
            "scheduled_end": iso(start - timedelta(minutes=5)),
        },
    )
    assert r.status_code == 422
    assert "scheduled_end" in r.json["errors"]


def test_meeting_patch_requires_if_match(nurse, patient):
    meeting = plan_meeting(nurse, patient.id)
    url = f"/api/v1/meetings/{meeting['id']}"
    assert nurse.patch(url, json={"place": "Rådhuset"}).status_code == 428
    etag = nurse.get(url).headers["ETag"]
    r = nurse.patch(url, json={"place": "Rådhuset"}, headers={"If-Match": etag})
    assert r.status_code == 200, r.json
    assert r.json["place"] == "Rådhuset"
    assert nurse.patch(url, json={"place": "X"}, headers={"If-Match": etag}).status_code == 412


def test_foreign_nurse_gets_404_on_meetings_of_a_patient_not_hers(nurse, patient, make_actor):
    meeting, _ = final_minutes(nurse, patient.id)
    other = make_actor("nurse")
    base = f"/api/v1/meetings/{meeting['id']}"
    for url in (base, f"{base}/minutes", f"{base}/minutes/1", f"{base}/distributions"):
        assert other.get(url).status_code == 404, url
    assert other.post(f"{base}/cancel", json={"reason": "x"}).status_code == 404
    r = other.get(f"/api/v1/meetings?patient={patient.id}")
    assert r.status_code == 200
    assert r.json["items"] == []
    r = other.post("/api/v1/meetings", json={"patient_id": patient.id, **past_slot()})
    assert r.status_code == 404


def test_the_patients_gp_may_not_read_meetings(nurse, patient, gp_org, make_actor):
    meeting = plan_meeting(nurse, patient.id)
    gp = make_actor("gp", organisation=gp_org)
    assert gp.get(f"/api/v1/meetings/{meeting['id']}").status_code == 403


def test_meetings_list_filters_by_patient_and_status(nurse, patient, make_patient, gp_org):
    other_patient = make_patient(nurse=nurse, gp=gp_org)
    planned = plan_meeting(nurse, patient.id)
    held = held_meeting(nurse, patient.id)
    plan_meeting(nurse, other_patient.id)
    r = nurse.get(f"/api/v1/meetings?patient={patient.id}")
    assert [m["id"] for m in r.json["items"]] == [planned["id"], held["id"]]
    r = nurse.get(f"/api/v1/meetings?patient={patient.id}&status=held")
    assert [m["id"] for m in r.json["items"]] == [held["id"]]
    assert nurse.get("/api/v1/meetings?status=nonsense").status_code == 422


def test_request_body_cannot_set_ids_or_status(nurse, patient):
    r = nurse.post(
        "/api/v1/meetings",
        json={"patient_id": patient.id, **past_slot(), "status": "held", "organiser_id": 1},
    )
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"status", "organiser_id"}


# --- minutes ------------------------------------------------------------------------------------


def test_minutes_are_written_only_once_the_meeting_is_held(nurse, patient):
    meeting = plan_meeting(nurse, patient.id)
    r = nurse.post(f"/api/v1/meetings/{meeting['id']}/minutes", json={"summary": "x"})
    assert r.status_code == 409
    assert r.json["allowed"] == ["cancelled", "held"]


def test_draft_edit_without_if_match_is_428(nurse, patient):
    meeting = held_meeting(nurse, patient.id)
    draft_minutes(nurse, meeting["id"])
    url = f"/api/v1/meetings/{meeting['id']}/minutes/1"
    assert nurse.patch(url, json={"summary": "ny"}).status_code == 428
    r = nurse.put(url, json={"summary": "ny", "decisions": "", "action_items": []})
    assert r.status_code == 428


def test_second_writer_with_the_old_etag_gets_412_and_nothing_is_lost(nurse, patient, make_actor):
    meeting = held_meeting(nurse, patient.id)
    etag = draft_minutes(nurse, meeting["id"]).headers["ETag"]
    url = f"/api/v1/meetings/{meeting['id']}/minutes/1"
    admin = make_actor("admin")

    first = nurse.put(
        url,
        json={
            "summary": "Skrevet af første",
            "decisions": "A",
            "action_items": [{"description": "Ring til lægen"}],
        },
        headers={"If-Match": etag},
    )
    assert first.status_code == 200, first.json
    assert first.headers["ETag"] != etag

    second = admin.patch(url, json={"summary": "Skrevet af anden"}, headers={"If-Match": etag})
    assert second.status_code == 412

    stored = nurse.get(url).json
    assert stored["summary"] == "Skrevet af første"
    assert [i["description"] for i in stored["action_items"]] == ["Ring til lægen"]

    # Changing only the action items still moves the ETag on.
    r = nurse.patch(url, json={"action_items": []}, headers={"If-Match": first.headers["ETag"]})
    assert r.status_code == 200
    assert r.headers["ETag"] != first.headers["ETag"]


def test_final_minutes_are_locked(nurse, patient):
    meeting, _ = final_minutes(nurse, patient.id)
    url = f"/api/v1/meetings/{meeting['id']}/minutes/1"
    etag = nurse.get(url).headers["ETag"]
    r = nurse.patch(url, json={"summary": "ændret"}, headers={"If-Match": etag})
    assert r.status_code == 409
    assert r.json["allowed"] == ["amended"]
    r = nurse.post(f"{url}/finalise")
    assert r.status_code == 409


def test_empty_minutes_cannot_be_finalised(nurse, patient):
    meeting = held_meeting(nurse, patient.id)
    draft_minutes(nurse, meeting["id"], summary="")
    r = nurse.post(f"/api/v1/meetings/{meeting['id']}/minutes/1/finalise")
    assert r.status_code == 422
    assert "summary" in r.json["errors"]


def test_amendments_number_up_keep_earlier_versions_and_redistribute(nurse, patient, gp_org):
    meeting, v1 = final_minutes(
        nurse,
        patient.id,
        action_items=[{"description": "Blodprøver", "responsible_organisation_id": gp_org.id}],
    )
    base = f"/api/v1/meetings/{meeting['id']}/minutes"
    assert nurse.post(f"{base}/amendments", json={"summary": "x"}).status_code == 422

    r = nurse.post(f"{base}/amendments", json={"reason": "forkert dato", "decisions": "Rettet"})
    assert r.status_code == 201, r.json
    assert r.json["version_no"] == 2
    assert r.json["status"] == "draft"
    assert r.json["summary"] == v1["summary"]
    assert [i["description"] for i in r.json["action_items"]] == ["Blodprøver"]
    # A second amendment while one is open is refused.
    assert nurse.post(f"{base}/amendments", json={"reason": "igen"}).status_code == 409

    v2 = finalise(nurse, meeting["id"], 2)
    assert v2["amendment_reason"] == "forkert dato"
    versions = nurse.get(base).json
    assert [(v["version_no"], v["status"]) for v in versions] == [(1, "final"), (2, "final")]
    assert nurse.get(f"{base}/1").json["decisions"] == v1["decisions"]

    rows = distributions(nurse, meeting["id"])
    assert by_org(rows, gp_org.id, v1["id"])["status"] == "pending"
    assert by_org(rows, gp_org.id, v2["id"])["status"] == "pending"
    assert len([r for r in rows if r["minutes_version_id"] == v2["id"]]) == len(
        [r for r in rows if r["minutes_version_id"] == v1["id"]]
    )


# --- distribution -------------------------------------------------------------------------------


def test_gp_gets_minutes_even_when_absent(nurse, patient, gp_org, make_org):
    dept = make_org("hospital_department")
    meeting, minutes = final_minutes(nurse, patient.id, [org_participant(dept.id)])
    rows = distributions(nurse, meeting["id"])
    gp = by_org(rows, gp_org.id)
    assert gp["recipient_role"] == "gp"
    assert gp["channel"] == "medcom"
    assert gp["status"] == "pending"
    assert gp["legal_basis"] == "statutory:treating-health-professionals"
    assert gp["minutes_version_id"] == minutes["id"]
    hospital = by_org(rows, dept.id)
    assert hospital["legal_basis"] == "statutory:treating-health-professionals"
    [nurse_row] = [r for r in rows if r["recipient_kind"] == "nurse"]
    assert nurse_row["recipient_staff_id"] == nurse.id
    assert nurse_row["channel"] == "internal"


def test_gp_that_took_part_is_listed_once_as_gp(nurse, patient, gp_org):
    meeting, _ = final_minutes(nurse, patient.id, [org_participant(gp_org.id)])
    rows = [
        r
        for r in distributions(nurse, meeting["id"])
        if r["recipient_organisation_id"] == gp_org.id
    ]
    assert [r["recipient_role"] for r in rows] == ["gp"]


def test_patient_without_gp_is_still_finalisable(nurse, make_patient):
    patient = make_patient(nurse=nurse, gp_practice_id=None)
    meeting, minutes = final_minutes(nurse, patient.id)
    assert minutes["status"] == "final"
    roles = {r["recipient_role"] for r in distributions(nurse, meeting["id"])}
    assert "gp" not in roles
    assert roles == {"residence_municipality", "nurse"}


def test_municipality_blocked_without_consent_sent_with_it_blocked_after_withdrawal(
    nurse, patient, municipality
):
    kbh = municipality("0101")
    meeting, v1 = final_minutes(nurse, patient.id)
    row = by_org(distributions(nurse, meeting["id"]), kbh.id, v1["id"])
    assert row["status"] == "blocked"
    assert row["legal_basis"] is None
    assert "consent" in row["blocked_reason"]

    consent = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "municipality", "scope": "minutes"},
    ).json
    base = f"/api/v1/meetings/{meeting['id']}/minutes"
    nurse.post(f"{base}/amendments", json={"reason": "samtykke givet"})
    v2 = finalise(nurse, meeting["id"], 2)
    row = by_org(distributions(nurse, meeting["id"]), kbh.id, v2["id"])
    assert row["status"] == "sent"
    assert row["channel"] == "pull"
    assert row["legal_basis"] == f"consent:{consent['id']}"

    r = nurse.post(f"/api/v1/patients/{patient.id}/consents/{consent['id']}/withdraw", json={})
    assert r.status_code == 200, r.json
    nurse.post(f"{base}/amendments", json={"reason": "tilføjelse"})
    v3 = finalise(nurse, meeting["id"], 3)
    rows = distributions(nurse, meeting["id"])
    assert by_org(rows, kbh.id, v3["id"])["status"] == "blocked"
    # What was sent stays sent: withdrawal only blocks future versions.
    assert by_org(rows, kbh.id, v2["id"])["status"] == "sent"


def test_consent_of_another_scope_does_not_unblock(nurse, patient, municipality):
    kbh = municipality("0101")
    nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_organisation_id": kbh.id, "scope": "discharge"},
    )
    meeting, _ = final_minutes(nurse, patient.id)
    assert by_org(distributions(nurse, meeting["id"]), kbh.id)["status"] == "blocked"


def test_municipality_in_the_meeting_as_health_care_receives_without_consent(
    nurse, patient, municipality
):
    kbh = municipality("0101")
    meeting, _ = final_minutes(
        nurse,
        patient.id,
        [org_participant(kbh.id, role="hjemmesygepleje", treating_health_care=True)],
    )
    row = by_org(distributions(nurse, meeting["id"]), kbh.id)
    assert row["status"] == "sent"
    assert row["legal_basis"] == "statutory:treating-health-professionals"
    assert row["recipient_role"] == "residence_municipality"


def test_housing_facility_and_relative_need_consent(nurse, patient, make_org):
    facility = make_org("social_psychiatry_facility")
    allowed = nurse.post(
        f"/api/v1/patients/{patient.id}/relatives",
        json={"name": "Mor", "relation": "mor", "may_receive_information": True},
    ).json
    not_allowed = nurse.post(
        f"/api/v1/patients/{patient.id}/relatives", json={"name": "Bror", "relation": "bror"}
    ).json
    meeting, _ = final_minutes(
        nurse,
        patient.id,
        [
            org_participant(facility.id),
            {"kind": "relative", "relative_id": allowed["id"], "role": "pårørende"},
            {"kind": "relative", "relative_id": not_allowed["id"], "role": "pårørende"},
            {"kind": "patient", "role": "borger"},
        ],
    )
    rows = distributions(nurse, meeting["id"])
    assert by_org(rows, facility.id)["status"] == "blocked"
    relatives = {r["recipient_relative_id"]: r for r in rows if r["recipient_kind"] == "relative"}
    assert relatives[allowed["id"]]["status"] == "pending"
    assert relatives[allowed["id"]]["legal_basis"] == f"relative-consent:{allowed['id']}"
    assert relatives[not_allowed["id"]]["status"] == "blocked"

    nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "social_psychiatry_facility", "scope": "all"},
    )
    nurse.post(f"/api/v1/meetings/{meeting['id']}/minutes/amendments", json={"reason": "x"})
    v2 = finalise(nurse, meeting["id"], 2)
    assert by_org(distributions(nurse, meeting["id"]), facility.id, v2["id"])["status"] == "pending"


def test_relative_of_another_patient_cannot_take_part(nurse, patient, make_patient, gp_org):
    other = make_patient(nurse=nurse, gp=gp_org)
    rel = nurse.post(
        f"/api/v1/patients/{other.id}/relatives", json={"name": "X", "relation": "søster"}
    ).json
    r = nurse.post(
        "/api/v1/meetings",
        json={
            "patient_id": patient.id,
            **past_slot(),
            "participants": [{"kind": "relative", "relative_id": rel["id"]}],
        },
    )
    assert r.status_code == 422
    assert "participants.0.relative_id" in r.json["errors"]


def test_gp_acknowledges_its_distribution(nurse, patient, gp_org, make_actor):
    meeting, _ = final_minutes(nurse, patient.id)
    gp_row = by_org(distributions(nurse, meeting["id"]), gp_org.id)
    other_gp = make_actor("gp")
    assert other_gp.post(f"/api/v1/distributions/{gp_row['id']}/ack").status_code == 404
    gp = make_actor("gp", organisation=gp_org)
    r = gp.post(f"/api/v1/distributions/{gp_row['id']}/ack")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "acknowledged"
    assert r.json["acknowledged_at"]


def test_an_organisation_cannot_acknowledge_the_relatives_or_the_nurses_row(
    nurse, patient, gp_org, make_actor
):
    relative = nurse.post(
        f"/api/v1/patients/{patient.id}/relatives",
        json={"name": "Mor", "relation": "mor", "may_receive_information": True},
    ).json
    meeting, _ = final_minutes(
        nurse, patient.id, [{"kind": "relative", "relative_id": relative["id"]}]
    )
    rows = distributions(nurse, meeting["id"])
    without_org = [r for r in rows if r["recipient_kind"] in ("relative", "nurse")]
    assert len(without_org) == 2
    gp = make_actor("gp", organisation=gp_org)
    for row in without_org:
        assert gp.post(f"/api/v1/distributions/{row['id']}/ack").status_code == 404
    after = {r["id"]: r["status"] for r in distributions(nurse, meeting["id"])}
    assert [after[r["id"]] for r in without_org] == [r["status"] for r in without_org]


# --- statement counts -----------------------------------------------------------------------


def _count(count_queries, actor, url) -> int:
    with count_queries() as counter:
        r = actor.get(url)
    assert r.status_code == 200, r.json
    return counter.count


def test_meeting_list_runs_constant_statements(
    nurse, make_patient, gp_org, make_org, count_queries
):
    dept = make_org("hospital_department")
    small = make_patient(nurse=nurse, gp=gp_org)
    large = make_patient(nurse=nurse, gp=gp_org)
    for _ in range(3):
        plan_meeting(nurse, small.id, [org_participant(dept.id)])
    for _ in range(30):
        plan_meeting(nurse, large.id, [org_participant(dept.id), org_participant(gp_org.id)])
    few = _count(count_queries, nurse, f"/api/v1/meetings?patient={small.id}&limit=200")
    many = _count(count_queries, nurse, f"/api/v1/meetings?patient={large.id}&limit=200")
    assert few == many


def test_distribution_list_runs_constant_statements(nurse, patient, make_org, count_queries):
    small, _ = final_minutes(nurse, patient.id, [org_participant(make_org("hospital").id)])
    large, _ = final_minutes(
        nurse, patient.id, [org_participant(make_org("hospital").id) for _ in range(30)]
    )
    assert len(distributions(nurse, large["id"])) >= 30
    few = _count(count_queries, nurse, f"/api/v1/meetings/{small['id']}/distributions")
    many = _count(count_queries, nurse, f"/api/v1/meetings/{large['id']}/distributions")
    assert few == many
