from datetime import UTC, datetime, timedelta

from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.patients.models import Diagnosis
from bridge.domain.registry.models import BridgeNurse, Organisation

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


# The worklist tests need flags of a few kinds; every rule has its own tests in tests/jobs.
RULES = [
    "patient_without_gp",
    "no_nurse_assigned",
    "caseload_over_capacity",
    "somatic_screening_overdue",
]


def _scan(session, now=NOW):
    run_gap_scan(session, now, rules=RULES)
    session.commit()


def test_worklist_is_most_severe_then_oldest_and_scoped_to_the_caller(
    session, make_actor, make_patient
):
    nurse, other = make_actor("nurse"), make_actor("nurse")
    no_gp = make_patient(nurse=nurse, gp_practice_id=None)  # medium
    _scan(session, NOW - timedelta(days=1))
    psychosis = make_patient(nurse=nurse)
    session.add(Diagnosis(patient_id=psychosis.id, code="F20.0", psychiatric=True))  # medium
    other.staff.active = False  # high, but on another nurse's patient
    foreign = make_patient(nurse=other)
    session.commit()
    _scan(session)
    items = nurse.get("/api/v1/flags").json["items"]
    assert [(i["rule"], i["patient_id"]) for i in items] == [
        ("patient_without_gp", no_gp.id),
        ("somatic_screening_overdue", psychosis.id),
    ]
    assert foreign.id not in {i["patient_id"] for i in items}
    admin = make_actor("admin")
    admin_items = admin.get("/api/v1/flags?limit=200").json["items"]
    assert admin_items[0]["severity"] == 3
    assert nurse.get(f"/api/v1/flags?patient={foreign.id}").json["items"] == []


def test_flag_of_a_foreign_patient_is_404(session, make_actor, make_patient):
    nurse, other = make_actor("nurse"), make_actor("nurse")
    make_patient(nurse=other, gp_practice_id=None)
    _scan(session)
    flag_id = other.get("/api/v1/flags").json["items"][0]["id"]
    assert nurse.get(f"/api/v1/flags/{flag_id}").status_code == 404
    assert (
        nurse.patch(
            f"/api/v1/flags/{flag_id}", json={"action": "acknowledge"}, headers={"If-Match": "*"}
        ).status_code
        == 404
    )


def test_acknowledge_snooze_and_resolve(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    make_patient(nurse=nurse, gp_practice_id=None)
    _scan(session)
    flag = nurse.get("/api/v1/flags").json["items"][0]
    url = f"/api/v1/flags/{flag['id']}"
    etag = nurse.get(url).headers["ETag"]
    r = nurse.patch(
        url,
        json={"action": "acknowledge", "note": "Ringer til borgeren"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200 and r.json["status"] == "acknowledged"
    assert (
        nurse.patch(
            url,
            json={"action": "snooze", "until": "2020-01-01T00:00:00+01:00"},
            headers={"If-Match": r.headers["ETag"]},
        ).status_code
        == 422
    )
    r2 = nurse.patch(
        url,
        json={"action": "snooze", "until": "2099-01-01T00:00:00+01:00"},
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r2.json["status"] == "snoozed"
    assert (
        nurse.patch(
            url, json={"action": "resolve"}, headers={"If-Match": r2.headers["ETag"]}
        ).status_code
        == 422
    )
    r3 = nurse.patch(
        url,
        json={"action": "resolve", "reason": "Lægen er fundet"},
        headers={"If-Match": r2.headers["ETag"]},
    )
    assert r3.json["status"] == "resolved"
    assert nurse.get("/api/v1/flags").json["items"] == []
    assert nurse.get("/api/v1/flags?status=resolved").json["items"][0]["id"] == flag["id"]


def test_gp_sees_flags_of_its_patients_but_cannot_act(session, make_actor, make_patient, make_org):
    nurse = make_actor("nurse")
    gp = make_actor("gp")
    patient = make_patient(nurse=nurse, gp=session.get(Organisation, gp.organisation_id))
    session.add(Diagnosis(patient_id=patient.id, code="F25.0", psychiatric=True))
    session.commit()
    _scan(session)
    items = gp.get("/api/v1/flags").json["items"]
    assert [i["patient_id"] for i in items] == [patient.id]
    r = gp.patch(
        f"/api/v1/flags/{items[0]['id']}", json={"action": "acknowledge"}, headers={"If-Match": "*"}
    )
    assert r.status_code == 403


def test_caseload_flag_is_shown_to_the_nurse_herself(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    session.get(BridgeNurse, nurse.id).caseload_capacity = 1
    session.commit()
    make_patient(nurse=nurse)
    make_patient(nurse=nurse)
    _scan(session)
    rules = {i["rule"] for i in nurse.get("/api/v1/flags").json["items"]}
    assert "caseload_over_capacity" in rules
    assert "caseload_over_capacity" not in {
        i["rule"] for i in make_actor("nurse").get("/api/v1/flags").json["items"]
    }


def test_flag_list_statement_count_is_constant(session, make_actor, make_patient, count_queries):
    nurse = make_actor("nurse")
    make_patient(nurse=nurse, gp_practice_id=None)
    _scan(session)
    with count_queries() as small:
        nurse.get("/api/v1/flags")
    for _ in range(15):
        make_patient(nurse=nurse, gp_practice_id=None)
    _scan(session)
    with count_queries() as large:
        assert len(nurse.get("/api/v1/flags").json["items"]) == 16
    assert small.count == large.count


def test_screening_is_recorded_and_closes_the_gap(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    session.add(Diagnosis(patient_id=patient.id, code="F20.0", psychiatric=True))
    session.commit()
    _scan(session)
    assert nurse.get("/api/v1/flags?rule=somatic_screening_overdue").json["items"]
    r = nurse.post(
        f"/api/v1/patients/{patient.id}/somatic-screenings",
        json={"screened_on": "2026-11-20", "note": "BT, vægt, HbA1c"},
    )
    assert r.status_code == 201, r.json
    _scan(session)
    assert nurse.get("/api/v1/flags?rule=somatic_screening_overdue").json["items"] == []


def test_job_runs_are_listed_for_admins(session, make_actor, runner):
    result = runner.invoke(args=["scan"])
    assert result.exit_code == 0, result.output
    assert "patient_without_gp" in result.output
    admin = make_actor("admin")
    runs = admin.get("/api/v1/jobs/runs?job=gap_scan").json["items"]
    assert runs and runs[0]["status"] == "ok"
    assert "patient_without_gp" in runs[0]["summary"]
    assert make_actor("nurse").get("/api/v1/jobs/runs").status_code == 403


def test_worklist_filtered_by_nurse_shows_her_course_patients_and_her_caseload(
    session, make_actor, make_patient
):
    nurse, other = make_actor("nurse"), make_actor("nurse")
    session.get(BridgeNurse, nurse.id).caseload_capacity = 1
    session.commit()
    hers = make_patient(nurse=nurse, gp_practice_id=None)
    make_patient(nurse=nurse)  # over capacity; has a GP
    theirs = make_patient(nurse=other, gp_practice_id=None)
    _scan(session)
    admin = make_actor("admin")
    items = admin.get(f"/api/v1/flags?nurse={nurse.id}&limit=200").json["items"]
    assert sorted((i["rule"], i["patient_id"], i["nurse_id"]) for i in items) == [
        ("caseload_over_capacity", None, nurse.id),
        ("patient_without_gp", hers.id, None),
    ]
    assert theirs.id in {
        i["patient_id"] for i in admin.get(f"/api/v1/flags?nurse={other.id}").json["items"]
    }
