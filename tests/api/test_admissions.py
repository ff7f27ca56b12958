"""Admissions and discharges through the API: who may register them, and the rules of a stay."""

from __future__ import annotations

from bridge.domain.care.queries import dual_admissions_select, readmissions_select
from bridge.domain.registry.models import OrganisationKind, Specialty
from tests.support.care import admit, discharge


def test_hospital_sees_patient_only_once_admitted_to_its_department(
    make_actor, make_patient, department
):
    ward = department()
    hospital = make_actor("hospital", organisation=ward)
    other_ward = make_actor("hospital", organisation=department())
    patient = make_patient()
    assert hospital.get(f"/api/v1/patients/{patient.id}").status_code == 404

    r = admit(hospital, patient, ward)
    assert r.status_code == 201, r.json
    assert r.json["specialty"] == "psychiatry"
    assert r.json["open"] is True

    assert hospital.get(f"/api/v1/patients/{patient.id}").status_code == 200
    assert other_ward.get(f"/api/v1/patients/{patient.id}").status_code == 404
    assert other_ward.get(f"/api/v1/admissions/{r.json['id']}").status_code == 404


def test_hospital_cannot_admit_to_another_department(make_actor, make_patient, department):
    hospital = make_actor("hospital", organisation=department())
    r = admit(hospital, make_patient(), department())
    assert r.status_code == 403


def test_gp_who_sees_the_patient_may_not_register_an_admission(
    make_actor, make_patient, make_org, department
):
    practice = make_org(OrganisationKind.GP_PRACTICE)
    gp = make_actor("gp", organisation=practice)
    assert admit(gp, make_patient(gp=practice), department()).status_code == 403
    assert admit(gp, make_patient(), department()).status_code == 404


def test_admission_must_name_a_hospital_department(make_actor, make_patient, make_org):
    nurse = make_actor("nurse")
    r = admit(nurse, make_patient(nurse=nurse), make_org(OrganisationKind.GP_PRACTICE))
    assert r.status_code == 422
    assert "department_id" in r.json["errors"]


def test_second_open_admission_in_the_same_department_conflicts(
    make_actor, make_patient, department
):
    nurse = make_actor("nurse")
    patient, ward = make_patient(nurse=nurse), department()
    assert admit(nurse, patient, ward).status_code == 201
    r = admit(nurse, patient, ward, at="2026-03-02T10:00:00+01:00")
    assert r.status_code == 409
    assert "open admission" in r.json["detail"]


def test_admission_in_the_future_is_rejected(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    r = admit(nurse, make_patient(nurse=nurse), department(), at="2099-01-01T10:00:00+01:00")
    assert r.status_code == 422
    assert "admitted_at" in r.json["errors"]


def test_discharge_before_admission_is_rejected(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    admission = admit(nurse, make_patient(nurse=nurse), department()).json
    r = discharge(nurse, admission["id"], at="2026-02-28T10:00:00+01:00")
    assert r.status_code == 422
    assert r.json["errors"] == {"discharged_at": ["the discharge is before the admission"]}


def test_discharging_a_discharged_stay_conflicts(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    admission = admit(nurse, make_patient(nurse=nurse), department()).json
    assert discharge(nurse, admission["id"]).status_code == 200
    r = discharge(nurse, admission["id"], at="2026-03-11T10:00:00+01:00")
    assert r.status_code == 409


def test_hospital_discharges_its_own_stay_but_not_another_departments(
    make_actor, make_patient, department
):
    ward, other = department(), department(Specialty.SOMATIC)
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    own = admit(nurse, patient, ward).json
    foreign = admit(nurse, patient, other).json
    hospital = make_actor("hospital", organisation=ward)
    # It sees the patient (admitted there), so the other department's stay is 403, not 404.
    assert discharge(hospital, foreign["id"]).status_code == 403
    r = discharge(hospital, own["id"], discharge_summary="Stabil, udskrives til eget hjem.")
    assert r.status_code == 200, r.json
    assert r.json["destination"] == "home"
    assert r.json["discharged_at"] == "2026-03-10T10:00:00+01:00"


def test_overlapping_psychiatric_and_somatic_stays_are_a_dual_admission(
    session, make_actor, make_patient, department
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    psych = admit(nurse, patient, department(Specialty.PSYCHIATRY)).json
    somatic = admit(nurse, patient, department(Specialty.SOMATIC), at="2026-03-05T10:00:00+01:00")
    assert somatic.json["dual_admission"] is True
    # A somatic stay after the psychiatric one ended is not dual.
    later_patient = make_patient(nurse=nurse)
    first = admit(nurse, later_patient, department(Specialty.PSYCHIATRY)).json
    discharge(nurse, first["id"], at="2026-03-04T10:00:00+01:00")
    after = admit(
        nurse, later_patient, department(Specialty.SOMATIC), at="2026-03-05T10:00:00+01:00"
    )
    assert after.json["dual_admission"] is False

    listed = nurse.get(f"/api/v1/patients/{patient.id}/admissions").json
    assert all(a["dual_admission"] for a in listed)
    pairs = session.execute(dual_admissions_select()).all()  # as the gap rule reads them
    assert (patient.id, psych["id"], somatic.json["id"]) in pairs
    assert all(row.patient_id != later_patient.id for row in pairs)


def test_readmission_within_30_days_is_recognised(session, make_actor, make_patient, department):
    nurse = make_actor("nurse")
    patient, ward = make_patient(nurse=nurse), department()
    first = admit(nurse, patient, ward, at="2026-01-01T10:00:00+01:00").json
    discharge(nurse, first["id"], at="2026-01-10T10:00:00+01:00")
    second = admit(nurse, patient, ward, at="2026-02-08T10:00:00+01:00").json  # 29 days
    assert second["readmission"] is True
    discharge(nurse, second["id"], at="2026-02-10T10:00:00+01:00")
    third = admit(nurse, patient, ward, at="2026-03-14T10:00:00+01:00").json  # 32 days
    assert third["readmission"] is False

    # As the gap rule reads them, for every patient at once.
    rows = session.execute(readmissions_select("postgresql", days=30)).all()
    assert (patient.id, first["id"], second["id"]) in rows
    assert all(readmission_id != third["id"] for _, _, readmission_id in rows)
    later = session.execute(readmissions_select("postgresql", days=40)).all()
    assert (patient.id, second["id"], third["id"]) in later


def test_transfer_to_another_hospital_is_not_a_readmission(
    session, make_actor, make_patient, department
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    first = admit(nurse, patient, department(), at="2026-01-01T10:00:00+01:00").json
    discharge(nurse, first["id"], at="2026-01-10T10:00:00+01:00", destination="other_hospital")
    second = admit(nurse, patient, department(), at="2026-01-10T12:00:00+01:00").json
    assert second["readmission"] is False


def test_patient_admissions_list_runs_constant_statements(
    make_actor, make_patient, department, count_queries
):
    nurse = make_actor("nurse")
    patient, ward = make_patient(nurse=nurse), department()

    def stays(n, start_day):
        for i in range(n):
            a = admit(nurse, patient, ward, at=f"2025-{start_day + i:02d}-01T10:00:00+01:00").json
            discharge(nurse, a["id"], at=f"2025-{start_day + i:02d}-02T10:00:00+01:00")

    stays(1, 1)
    with count_queries() as few:
        assert len(nurse.get(f"/api/v1/patients/{patient.id}/admissions").json) == 1
    stays(6, 2)
    with count_queries() as many:
        assert len(nurse.get(f"/api/v1/patients/{patient.id}/admissions").json) == 7
    assert many.count == few.count


# --- statutory plans ----------------------------------------------------------------------------


def _plan(actor, admission_id, **body):
    return actor.post(f"/api/v1/admissions/{admission_id}/statutory-plans", json=body)


def test_udskrivningsaftale_records_participants_and_owners(
    make_actor, make_patient, department, municipality
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    ward = department()
    admission = admit(nurse, patient, ward).json
    kbh = municipality("0101")
    r = _plan(
        nurse,
        admission["id"],
        kind="udskrivningsaftale",
        agreed_on="2026-03-09",
        patient_took_part=True,
        participant_ids=[kbh.id, ward.id],
        efforts=[
            {"description": "Bostøtte to gange om ugen", "responsible_organisation_id": kbh.id}
        ],
        next_review_date="2026-06-01",
    )
    assert r.status_code == 201, r.json
    assert r.json["participant_ids"] == sorted([kbh.id, ward.id])
    assert r.json["efforts"][0]["responsible_organisation_id"] == kbh.id
    listed = nurse.get(f"/api/v1/admissions/{admission['id']}/statutory-plans").json
    assert [p["kind"] for p in listed] == ["udskrivningsaftale"]
    again = _plan(nurse, admission["id"], kind="udskrivningsaftale", patient_took_part=True)
    assert again.status_code == 409


def test_koordinationsplan_means_the_patient_did_not_take_part(
    make_actor, make_patient, department
):
    nurse = make_actor("nurse")
    admission = admit(nurse, make_patient(nurse=nurse), department()).json
    r = _plan(nurse, admission["id"], kind="koordinationsplan", patient_took_part=True)
    assert r.status_code == 422
    assert "patient_took_part" in r.json["errors"]
    ok = _plan(nurse, admission["id"], kind="koordinationsplan", patient_took_part=False)
    assert ok.status_code == 201


def test_kip_is_reviewed_within_six_months(make_actor, make_patient, department, municipality):
    nurse = make_actor("nurse")
    admission = admit(nurse, make_patient(nurse=nurse), department()).json
    effort = {"description": "Misbrugsbehandling", "responsible_organisation_id": municipality().id}
    late = _plan(
        nurse,
        admission["id"],
        kind="kip",
        patient_took_part=True,
        agreed_on="2026-03-01",
        next_review_date="2026-09-02",
        efforts=[effort],
    )
    assert late.status_code == 422
    assert "next_review_date" in late.json["errors"]
    ok = _plan(
        nurse,
        admission["id"],
        kind="kip",
        patient_took_part=True,
        agreed_on="2026-03-01",
        next_review_date="2026-09-01",
        efforts=[effort],
    )
    assert ok.status_code == 201, ok.json


def test_statutory_plans_belong_to_psychiatric_stays(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    admission = admit(nurse, make_patient(nurse=nurse), department(Specialty.SOMATIC)).json
    r = _plan(nurse, admission["id"], kind="udskrivningsaftale", patient_took_part=True)
    assert r.status_code == 422


def _flag_queries(counter) -> int:
    # The dual-admission and readmission flags are read in one UNION ALL statement.
    return sum("UNION ALL" in s for s in counter.statements)


def test_discharge_reads_the_flags_once_after_the_stay_has_ended(
    make_actor, make_patient, department, count_queries
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    psych = admit(nurse, patient, department(Specialty.PSYCHIATRY)).json
    somatic = admit(nurse, patient, department(Specialty.SOMATIC), at="2026-03-05T10:00:00+01:00")
    assert somatic.json["dual_admission"] is True
    with count_queries() as counter:
        # Ended before the somatic stay began: the stays no longer overlap.
        r = discharge(nurse, psych["id"], at="2026-03-04T10:00:00+01:00")
    assert r.status_code == 200, r.json
    assert r.json["dual_admission"] is False
    assert _flag_queries(counter) == 1, counter.statements


def test_statutory_plan_is_read_by_id_without_the_stays_flags(
    make_actor, make_patient, department, count_queries
):
    nurse = make_actor("nurse")
    admission = admit(nurse, make_patient(nurse=nurse), department()).json
    plan = _plan(nurse, admission["id"], kind="koordinationsplan", patient_took_part=False).json
    url = f"/api/v1/admissions/{admission['id']}/statutory-plans"
    with count_queries() as counter:
        r = nurse.get(f"{url}/{plan['id']}")
    assert r.status_code == 200, r.json
    assert (r.json["id"], r.json["kind"], r.json["admission_id"]) == (
        plan["id"],
        "koordinationsplan",
        admission["id"],
    )
    assert _flag_queries(counter) == 0, counter.statements
    assert nurse.get(f"{url}/{plan['id'] + 1000}").status_code == 404
    other = admit(nurse, make_patient(nurse=nurse), department()).json
    # A plan is found only under its own stay.
    assert (
        nurse.get(f"/api/v1/admissions/{other['id']}/statutory-plans/{plan['id']}").status_code
        == 404
    )
