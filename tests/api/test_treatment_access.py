"""Issue 13, access items 1 and 2: a department's sight comes from a stay and ends after the
treatment period; a caller names by id only a patient she sees; a handover ends the former
nurse's sight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bridge.config import Settings, SettingsError
from bridge.domain.access import access_settings
from bridge.domain.audit import AuditEvent
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.registry.models import OrganisationKind, Specialty

# An id no row has, yet within every id column (integer): a larger one never reaches a lookup.
MISSING = 2**31 - 1


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _without_request_id(response) -> tuple[int, dict]:
    body = dict(response.json)
    body.pop("request_id", None)
    return response.status_code, body


@pytest.fixture
def ward(make_org):
    return make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)


@pytest.fixture
def hospital(make_actor, ward):
    return make_actor("hospital", organisation=ward)


def _admission(ward, days_ago: float, **who) -> dict:
    return {"department_id": ward.id, "acute": True, "admitted_at": _ago(days_ago), **who}


def test_a_department_cannot_admit_by_id_a_patient_it_cannot_see(
    session, hospital, ward, make_patient, make_actor
):
    foreign = make_patient(nurse=make_actor("nurse"))
    r = hospital.post("/api/v1/admissions", json=_admission(ward, 1, patient_id=foreign.id))
    missing = hospital.post("/api/v1/admissions", json=_admission(ward, 1, patient_id=MISSING))
    assert r.status_code == 404, r.json
    assert _without_request_id(r) == _without_request_id(missing)
    # ... and so has gained no sight of them.
    assert hospital.get(f"/api/v1/patients/{foreign.id}").status_code == 404
    assert hospital.get(f"/api/v1/patients/{foreign.id}/diagnoses").status_code == 404


def test_a_department_admits_the_person_in_front_of_it_by_cpr(
    session, hospital, ward, make_patient, make_actor
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    r = hospital.post("/api/v1/admissions", json=_admission(ward, 1, cpr=patient.cpr))
    assert r.status_code == 201, r.json
    assert r.json["patient_id"] == patient.id
    assert hospital.get(f"/api/v1/patients/{patient.id}").status_code == 200
    # The patient's access log says the department's reads come from a treatment relation.
    log = nurse.get(f"/api/v1/patients/{patient.id}/access-log?limit=200").json["items"]
    hospital_rows = [e for e in log if e["staff_id"] == hospital.id]
    assert hospital_rows and {e["basis"] for e in hospital_rows} == {"treatment"}
    assert {e["basis"] for e in log if e["staff_id"] == nurse.id} <= {"caseload"}


def test_an_unknown_cpr_is_not_found_and_a_nurse_cannot_admit_by_cpr_beyond_her_patients(
    hospital, ward, make_actor, make_patient
):
    r = hospital.post("/api/v1/admissions", json=_admission(ward, 1, cpr="0101011234"))
    assert r.status_code == 404
    nurse = make_actor("nurse")
    foreign = make_patient(nurse=make_actor("nurse"))
    by_cpr = nurse.post("/api/v1/admissions", json=_admission(ward, 1, cpr=foreign.cpr))
    unknown = nurse.post("/api/v1/admissions", json=_admission(ward, 1, cpr="0101011234"))
    assert _without_request_id(by_cpr) == _without_request_id(unknown)
    both = hospital.post(
        "/api/v1/admissions", json=_admission(ward, 1, cpr=foreign.cpr, patient_id=foreign.id)
    )
    assert both.status_code == 422 and "patient_id" in both.json["errors"]


@pytest.mark.parametrize(("discharged_days_ago", "sees"), [(None, True), (29, True), (31, False)])
def test_sight_from_a_stay_ends_the_treatment_period_after_discharge(
    hospital, ward, make_patient, discharged_days_ago, sees
):
    assert access_settings().treatment_access_days == 30
    patient = make_patient()
    stay = hospital.post("/api/v1/admissions", json=_admission(ward, 60, cpr=patient.cpr)).json
    if discharged_days_ago is not None:
        r = hospital.post(
            f"/api/v1/admissions/{stay['id']}/discharge",
            json={"discharged_at": _ago(discharged_days_ago), "destination": "home"},
        )
        assert r.status_code == 200, r.json
    expected = 200 if sees else 404
    assert hospital.get(f"/api/v1/patients/{patient.id}").status_code == expected
    assert hospital.get(f"/api/v1/admissions/{stay['id']}").status_code == expected
    assert hospital.get(f"/api/v1/patients/{patient.id}/timeline").status_code == expected
    listed = {p["id"] for p in hospital.get("/api/v1/patients?limit=200").json["items"]}
    assert (patient.id in listed) is sees
    # Once the period has ended, naming the patient by id is refused like any unseen patient;
    # a new stay starts from the person's CPR number again.
    again = hospital.post("/api/v1/admissions", json=_admission(ward, 0, patient_id=patient.id))
    assert again.status_code == (201 if sees and discharged_days_ago else 409 if sees else 404)
    if not sees:
        by_cpr = hospital.post("/api/v1/admissions", json=_admission(ward, 0, cpr=patient.cpr))
        assert by_cpr.status_code == 201


def test_settings_are_refused_at_start_when_they_are_not_whole_numbers():
    days = "BRIDGE_TREATMENT_ACCESS_DAYS"
    assert Settings.load({}).BRIDGE_TREATMENT_ACCESS_DAYS == 30
    assert Settings.load({days: "7"}).BRIDGE_TREATMENT_ACCESS_DAYS == 7
    with pytest.raises(SettingsError, match=f"{days} must be a whole number"):
        Settings.load({days: "thirty"})
    with pytest.raises(SettingsError, match="at least 0"):
        Settings.load({days: "-1"})


# --- item 2: handovers --------------------------------------------------------------------------


def _patient_ids(actor, listing: str) -> set[int]:
    r = actor.get(f"{listing}?limit=200")
    assert r.status_code == 200, r.json
    return {
        i["id"] if listing == "/api/v1/patients" else i.get("patient_id") for i in r.json["items"]
    }


def test_a_handover_ends_the_former_nurses_sight(session, make_actor, make_patient):
    former, successor = make_actor("nurse"), make_actor("nurse")
    patient = make_patient(nurse=former, name="Overdraget Person")
    former.post(f"/api/v1/patients/{patient.id}/diagnoses", json={"code": "F20.0"})
    session.commit()
    run_gap_scan(session, datetime.now(UTC))
    session.commit()
    assert _patient_ids(former, "/api/v1/flags") >= {patient.id}

    course = former.get(f"/api/v1/patients/{patient.id}/enrollments").json[0]
    r = former.patch(
        f"/api/v1/patients/{patient.id}/enrollments/{course['id']}",
        json={"nurse_id": successor.id},
        headers={"If-Match": "*"},
    )
    assert r.status_code == 200, r.json

    url = f"/api/v1/patients/{patient.id}"
    assert former.get(url).status_code == 404
    assert former.post(f"{url}/relatives", json={"name": "A", "relation": "mor"}).status_code == 404
    for listing in ("/api/v1/patients", "/api/v1/flags", "/api/v1/follow-ups", "/api/v1/meetings"):
        assert patient.id not in _patient_ids(former, listing), listing
    assert successor.get(url).status_code == 200


def test_a_registrants_sight_ends_with_the_first_course_and_does_not_return(
    make_actor, municipality
):
    registrant, other = make_actor("nurse"), make_actor("nurse")
    created = registrant.post(
        "/api/v1/patients",
        json={"cpr": "0303801234", "name": "Ny", "municipality_id": municipality().id},
    ).json
    url = f"/api/v1/patients/{created['id']}"
    enrolled = registrant.post(f"{url}/enrollments", json={"nurse_id": other.id, "reason": "ny"})
    assert enrolled.status_code == 201
    assert registrant.get(url).status_code == 404
    ended = other.patch(
        f"{url}/enrollments/{enrolled.json['id']}",
        json={"end_date": enrolled.json["start_date"], "end_reason": "afsluttet"},
        headers={"If-Match": "*"},
    )
    assert ended.status_code == 200, ended.json
    assert registrant.get(url).status_code == 404


def test_audit_rows_record_the_basis(session, make_actor, make_patient):
    gp_actor = make_actor("gp")
    patient = make_patient()
    nurse = make_actor("nurse")
    nurse.get(f"/api/v1/patients/{patient.id}")
    rows = session.scalars(select(AuditEvent).where(AuditEvent.staff_id == nurse.id)).all()
    assert rows and {r.basis for r in rows} == {"caseload"}
    assert gp_actor.principal(session).basis == "listed"


def test_an_open_follow_up_task_of_the_department_keeps_its_sight_until_done(
    session, hospital, ward, make_patient
):
    from bridge.domain.care.models import FollowUpTask, ResponsibleKind

    patient = make_patient()
    stay = hospital.post("/api/v1/admissions", json=_admission(ward, 90, cpr=patient.cpr)).json
    hospital.post(
        f"/api/v1/admissions/{stay['id']}/discharge",
        json={"discharged_at": _ago(60), "destination": "home"},
    )
    task = FollowUpTask(
        patient_id=patient.id,
        admission_id=stay["id"],
        title="Ambulant kontrol",
        responsible_kind=ResponsibleKind.HOSPITAL,
        responsible_organisation_id=ward.id,
        due_at=datetime.now(UTC) + timedelta(days=5),
    )
    session.add(task)
    session.commit()
    assert hospital.get(f"/api/v1/patients/{patient.id}").status_code == 200
    assert hospital.post(f"/api/v1/follow-ups/{task.id}/complete", json={}).status_code == 200
    assert hospital.get(f"/api/v1/patients/{patient.id}").status_code == 404
