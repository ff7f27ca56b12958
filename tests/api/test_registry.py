from sqlalchemy import func, select

from bridge.domain.registry.models import Organisation, OrganisationKind


def test_reference_data_has_five_regions_and_98_municipalities(session):
    def count(kind):
        return session.scalar(
            select(func.count()).select_from(Organisation).where(Organisation.kind == kind)
        )

    # The five regions of 2007 and Region Østdanmark (from 2027).
    assert count(OrganisationKind.REGION) == 6
    assert count(OrganisationKind.MUNICIPALITY) == 98
    aarhus = session.scalar(select(Organisation).where(Organisation.municipality_code == "0751"))
    region = session.get(Organisation, aarhus.parent_id)
    assert (aarhus.name, region.region_code) == ("Aarhus Kommune", "DK-82")


def test_municipality_code_without_leading_zero_is_stored_padded(make_actor):
    admin = make_actor("admin")
    r = admin.post(
        "/api/v1/organisations",
        json={"kind": "municipality", "name": "Testrup", "municipality_code": "99"},
    )
    assert r.status_code == 201, r.json
    assert r.json["municipality_code"] == "0099"


def test_gln_with_wrong_check_digit_is_rejected(make_actor):
    admin = make_actor("admin")
    r = admin.post(
        "/api/v1/organisations",
        json={"kind": "gp_practice", "name": "Lægerne", "gln": "5790000000002"},
    )
    assert r.status_code == 422
    assert "gln" in r.json["errors"]


def test_department_needs_a_specialty(make_actor):
    admin = make_actor("admin")
    r = admin.post("/api/v1/organisations", json={"kind": "hospital_department", "name": "Afs."})
    assert r.status_code == 422 and "specialty" in r.json["errors"]


def test_region_merger_is_data(make_actor):
    admin = make_actor("admin")
    r = admin.post(
        "/api/v1/organisations",
        json={"kind": "region", "name": "Region Østdanmark", "valid_from": "2027-01-01"},
    )
    assert r.status_code == 201
    listed = admin.get("/api/v1/organisations?kind=region&valid_on=2026-06-01&limit=200").json
    assert "Region Østdanmark" not in {o["name"] for o in listed["items"]}
    later = admin.get("/api/v1/organisations?kind=region&valid_on=2027-06-01&limit=200").json
    assert "Region Østdanmark" in {o["name"] for o in later["items"]}


def test_nurse_financing_shares_must_sum_to_100(make_actor, session, region, municipality):
    admin = make_actor("admin")
    staff = admin.post(
        "/api/v1/staff",
        json={"organisation_id": region.id, "name": "Sygeplejerske", "roles": ["nurse"]},
    ).json
    body = {
        "staff_id": staff["id"],
        "region_id": region.id,
        "region_share": 50,
        "financing": [{"municipality_id": municipality("0101").id, "share": 30}],
        "caseload_capacity": 30,
    }
    r = admin.post("/api/v1/nurses", json=body)
    assert r.status_code == 422 and "financing" in r.json["errors"]
    body["financing"].append({"municipality_id": municipality("0147").id, "share": 20})
    r = admin.post("/api/v1/nurses", json=body)
    assert r.status_code == 201, r.json
    assert r.json["name"] == "Sygeplejerske"


def test_one_active_enrollment_per_patient(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    r = nurse.post(f"/api/v1/patients/{patient.id}/enrollments", json={"reason": "igen"})
    assert r.status_code == 409


def test_ending_an_enrollment_needs_a_reason_and_if_match(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    enrollment = nurse.get(f"/api/v1/patients/{patient.id}/enrollments").json[0]
    url = f"/api/v1/patients/{patient.id}/enrollments/{enrollment['id']}"
    etag = nurse.get(url).headers["ETag"]
    r = nurse.patch(url, json={"end_date": "2026-06-01"}, headers={"If-Match": etag})
    assert r.status_code == 422 and "end_reason" in r.json["errors"]
    r = nurse.patch(
        url, json={"end_date": "2026-06-01", "end_reason": "afsluttet"}, headers={"If-Match": etag}
    )
    assert r.status_code == 200 and r.json["active"] is False


def test_consent_history_is_kept_on_withdrawal(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    url = f"/api/v1/patients/{patient.id}/consents"
    given = nurse.post(
        url, json={"recipient_kind": "social_psychiatry_facility", "scope": "minutes"}
    ).json
    r = nurse.post(f"{url}/{given['id']}/withdraw", json={})
    assert r.status_code == 200 and r.json["active"] is False
    again = nurse.post(url, json={"recipient_kind": "social_psychiatry_facility", "scope": "all"})
    assert again.status_code == 201
    history = nurse.get(url).json
    assert [c["active"] for c in history] == [False, True]
    assert nurse.post(f"{url}/{given['id']}/withdraw", json={}).status_code == 409


def test_diagnosis_is_classified_from_its_code(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    url = f"/api/v1/patients/{patient.id}/diagnoses"
    assert nurse.post(url, json={"code": "DF200"}).json == {
        "id": nurse.get(url).json[0]["id"],
        "code": "F20.0",
        "psychiatric": True,
        "description": None,
        "diagnosed_on": None,
    }
    assert nurse.post(url, json={"code": "E11.9"}).json["psychiatric"] is False
    assert nurse.post(url, json={"code": "banana"}).status_code == 422


def test_unknown_parent_is_a_field_error_not_a_500(make_actor):
    admin = make_actor("admin")
    r = admin.post(
        "/api/v1/organisations",
        json={"kind": "specialist_practice", "name": "X", "parent_id": 2**40},
    )
    assert r.status_code == 422 and "parent_id" in r.json["errors"]


def test_a_patients_municipality_and_gp_must_be_of_those_kinds(make_actor, make_org, municipality):
    nurse = make_actor("nurse")
    practice, kbh = make_org("gp_practice"), municipality()
    body = {"cpr": "0404851234", "name": "Ny", "municipality_id": practice.id}
    r = nurse.post("/api/v1/patients", json=body)
    assert r.status_code == 422 and "municipality_id" in r.json["errors"]
    r = nurse.post(
        "/api/v1/patients", json=body | {"municipality_id": kbh.id, "gp_practice_id": kbh.id}
    )
    assert r.status_code == 422 and "gp_practice_id" in r.json["errors"]
    created = nurse.post("/api/v1/patients", json=body | {"municipality_id": kbh.id})
    assert created.status_code == 201, created.json
    url = f"/api/v1/patients/{created.json['id']}"
    for field, wrong in (("municipality_id", practice.id), ("gp_practice_id", kbh.id)):
        r = nurse.patch(url, json={field: wrong}, headers={"If-Match": created.headers["ETag"]})
        assert r.status_code == 422 and field in r.json["errors"], field
