"""The patient's own municipality and GP practice may ask for the full CPR; each number handed
out is in the patient's access log. Nobody else gets it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bridge.domain.audit import AuditEvent
from tests.support.meetings import final_minutes

FEED = "/api/v1/municipalities/0101/meeting-summaries"


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
def kbh(make_actor, municipality):
    return make_actor("municipality", organisation=municipality("0101"))


@pytest.fixture
def patient(make_patient, nurse, gp_org):
    patient = make_patient(nurse=nurse, gp=gp_org)
    r = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "municipality", "scope": "minutes"},
    )
    assert r.status_code == 201, r.json
    return patient


def disclosures(session, patient_id: int, staff_id: int) -> list[str]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.patient_id == patient_id,
                AuditEvent.resource_type == "patient_cpr",
                AuditEvent.staff_id == staff_id,
            )
        )
    )


def test_municipality_files_each_summary_by_full_cpr_and_each_is_audited(
    session, nurse, kbh, patient
):
    final_minutes(nurse, patient.id)
    plain = kbh.get(FEED).json["items"]
    assert plain and "cpr" not in plain[0]["patient"]
    assert disclosures(session, patient.id, kbh.id) == []

    r = kbh.get(FEED, query_string={"include": "cpr"})
    assert r.status_code == 200, r.json
    [summary] = [s for s in r.json["items"] if s["patient"]["id"] == patient.id]
    assert summary["patient"]["cpr"] == patient.cpr
    assert disclosures(session, patient.id, kbh.id) == ["ok"]

    bad = kbh.get(FEED, query_string={"include": "everything"})
    assert bad.status_code == 422
    assert "include" in str(bad.json["errors"])


def test_patient_resource_gives_full_cpr_to_own_gp_and_municipality_only(
    session, nurse, gp, kbh, patient, make_actor, municipality
):
    url = f"/api/v1/patients/{patient.id}"
    assert "cpr_full" not in gp.get(url).json
    for actor in (gp, kbh):
        r = actor.get(url, query_string={"include": "cpr"})
        assert r.status_code == 200, r.json
        assert r.json["cpr_full"] == patient.cpr
        assert r.headers["ETag"] == actor.get(url).headers["ETag"]
        assert disclosures(session, patient.id, actor.id) == ["ok"]
    # The nurse reads it masked; asking is refused and noted.
    r = nurse.get(url, query_string={"include": "cpr"})
    assert r.status_code == 403
    assert disclosures(session, patient.id, nurse.id) == ["forbidden"]
    assert "cpr_full" not in nurse.get(url).json
    # Another municipality does not see the patient at all.
    aarhus = make_actor("municipality", organisation=municipality("0751"))
    assert aarhus.get(url, query_string={"include": "cpr"}).status_code == 404


def test_gp_inbox_carries_the_full_cpr_when_asked(session, nurse, gp, patient, make_org):
    final_minutes(nurse, patient.id)
    [plain] = gp.get("/api/v1/inbox").json["items"]
    assert plain["patient_cpr"] is None
    [item] = gp.get("/api/v1/inbox", query_string={"include": "cpr"}).json["items"]
    assert item["patient_cpr"] == patient.cpr
    one = gp.get(f"/api/v1/inbox/{item['id']}", query_string={"include": "cpr"})
    assert one.json["patient_cpr"] == patient.cpr
    assert disclosures(session, patient.id, gp.id) == ["ok", "ok"]


def test_a_department_inbox_never_gets_the_full_cpr(session, nurse, patient, make_org, make_actor):
    dept = make_org("hospital_department")
    staff = make_actor("hospital", organisation=dept)
    final_minutes(nurse, patient.id, [{"kind": "organisation", "organisation_id": dept.id}])
    [item] = staff.get("/api/v1/inbox", query_string={"include": "cpr"}).json["items"]
    assert item["patient_cpr"] is None
    assert item["patient_cpr_masked"].endswith("xxxx")
    assert disclosures(session, patient.id, staff.id) == []
