"""Who may see which patient: every role against its own and a foreign patient, on every
patient endpoint. A foreign patient is 404 and absent from lists; its data never leaks."""

import pytest
from sqlalchemy import select

from bridge.domain.audit import AuditEvent
from bridge.domain.base import utcnow
from bridge.domain.registry.models import OrganisationKind
from bridge.domain.registry.services import authenticate_token

READS = [
    "/api/v1/patients/{id}",
    "/api/v1/patients/{id}/relatives",
    "/api/v1/patients/{id}/diagnoses",
    "/api/v1/patients/{id}/care-team",
    "/api/v1/patients/{id}/enrollments",
    "/api/v1/patients/{id}/consents",
]
WRITES = [
    ("post", "/api/v1/patients/{id}/relatives", {"name": "Mor", "relation": "mor"}),
    ("post", "/api/v1/patients/{id}/diagnoses", {"code": "F20.0"}),
    (
        "post",
        "/api/v1/patients/{id}/consents",
        {"recipient_kind": "social_psychiatry_facility", "scope": "minutes"},
    ),
    ("patch", "/api/v1/patients/{id}", {"name": "Nyt Navn"}),
]


@pytest.fixture
def world(make_actor, make_patient, make_org, municipality):
    """Two of everything: one patient each side, so every role has an own and a foreign one."""
    gp_own, gp_other = (
        make_org(OrganisationKind.GP_PRACTICE),
        make_org(OrganisationKind.GP_PRACTICE),
    )
    nurse, other_nurse = make_actor("nurse"), make_actor("nurse")
    own = make_patient(nurse=nurse, gp=gp_own, municipality_code="0101", name="Own Patient")
    foreign = make_patient(
        nurse=other_nurse, gp=gp_other, municipality_code="0751", name="Foreign Patient"
    )
    return {
        "own": own,
        "foreign": foreign,
        "nurse": nurse,
        "gp": make_actor("gp", organisation=gp_own),
        "municipality": make_actor("municipality", organisation=municipality("0101")),
        "hospital": make_actor("hospital"),
        "admin": make_actor("admin"),
    }


@pytest.mark.parametrize("role", ["nurse", "gp", "municipality"])
@pytest.mark.parametrize("url", READS)
def test_role_reads_own_patient_but_foreign_is_404(world, role, url):
    actor = world[role]
    own = actor.get(url.format(id=world["own"].id))
    assert own.status_code == 200, own.json
    foreign = actor.get(url.format(id=world["foreign"].id))
    assert foreign.status_code == 404
    assert "Foreign" not in foreign.get_data(as_text=True)


@pytest.mark.parametrize("role", ["nurse", "gp", "municipality", "hospital"])
def test_lists_hold_only_visible_patients(world, role):
    ids = {p["id"] for p in world[role].get("/api/v1/patients?limit=200").json["items"]}
    assert world["foreign"].id not in ids
    if role != "hospital":  # a department sees patients admitted there, and none are
        assert world["own"].id in ids


def test_hospital_without_admissions_sees_no_patient(world):
    for url in READS:
        assert world["hospital"].get(url.format(id=world["own"].id)).status_code == 404


def test_admin_sees_every_patient(world):
    for url in READS:
        assert world["admin"].get(url.format(id=world["foreign"].id)).status_code == 200


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_writes_on_a_foreign_patient_are_404_and_change_nothing(world, method, url, body):
    nurse = world["nurse"]
    r = getattr(nurse, method)(
        url.format(id=world["foreign"].id), json=body, headers={"If-Match": "*"}
    )
    assert r.status_code == 404
    assert world["admin"].get(f"/api/v1/patients/{world['foreign'].id}").json["name"] == (
        "Foreign Patient"
    )


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
@pytest.mark.parametrize("role", ["gp", "municipality"])
def test_roles_that_only_read_get_403_on_their_own_patients(world, role, method, url, body):
    r = getattr(world[role], method)(
        url.format(id=world["own"].id), json=body, headers={"If-Match": "*"}
    )
    assert r.status_code == 403


def test_search_by_cpr_does_not_find_foreign_patient(world):
    r = world["nurse"].post("/api/v1/patients/search", json={"cpr": world["foreign"].cpr})
    assert r.status_code == 404


def test_nurse_sees_patient_she_registered_until_she_enrols_them_with_another(
    make_actor, municipality
):
    nurse, other = make_actor("nurse"), make_actor("nurse")
    created = nurse.post(
        "/api/v1/patients",
        json={"cpr": "0303801234", "name": "Ny", "municipality_id": municipality().id},
    ).json
    url = f"/api/v1/patients/{created['id']}"
    assert nurse.get(url).status_code == 200
    r = nurse.post(f"{url}/enrollments", json={"nurse_id": other.id, "reason": "overdraget"})
    assert r.status_code == 201, r.json
    # Enrolling them with another nurse hands them over: only the course's nurse sees them now.
    assert r.json["nurse_id"] == other.id
    assert nurse.get(url).status_code == 404
    assert other.get(url).status_code == 200


def test_every_patient_read_is_audited(session, world):
    nurse, own = world["nurse"], world["own"]
    nurse.get(f"/api/v1/patients/{own.id}")
    nurse.get(f"/api/v1/patients/{own.id}/consents")
    nurse.get(f"/api/v1/patients/{world['foreign'].id}")
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.staff_id == nurse.id).order_by(AuditEvent.id)
    ).all()
    got = [(r.action, r.resource_type, r.patient_id, r.outcome) for r in rows]
    assert ("read", "patient", own.id, "ok") in got
    assert ("list", "consent", own.id, "ok") in got
    assert ("read", "patient", world["foreign"].id, "not_found") in got
    assert all(r.request_id for r in rows)


def test_list_reads_are_audited_per_patient(session, world):
    world["gp"].get("/api/v1/patients")
    rows = session.scalars(select(AuditEvent).where(AuditEvent.staff_id == world["gp"].id)).all()
    assert {r.patient_id for r in rows} == {world["own"].id}


def test_access_log_for_admin_and_enrolled_nurse_only(world):
    own = world["own"]
    world["gp"].get(f"/api/v1/patients/{own.id}")
    log = world["nurse"].get(f"/api/v1/patients/{own.id}/access-log")
    assert log.status_code == 200
    assert world["gp"].id in {e["staff_id"] for e in log.json["items"]}
    assert world["admin"].get(f"/api/v1/patients/{own.id}/access-log").status_code == 200
    assert world["gp"].get(f"/api/v1/patients/{own.id}/access-log").status_code == 403
    assert (
        world["nurse"].get(f"/api/v1/patients/{world['foreign'].id}/access-log").status_code == 404
    )


def test_staff_of_a_municipal_facility_see_their_municipalitys_patients(
    session, make_actor, make_org, make_patient, municipality
):
    home = municipality("0101")
    facility = make_org(OrganisationKind.SOCIAL_PSYCHIATRY_FACILITY, parent_id=home.id)
    worker = make_actor("municipality", organisation=facility)
    local = make_patient(municipality_code="0101")
    elsewhere = make_patient(municipality_code="0751")
    assert worker.get(f"/api/v1/patients/{local.id}").status_code == 200
    assert worker.get(f"/api/v1/patients/{elsewhere.id}").status_code == 404
    principal = authenticate_token(session, worker.token, utcnow())
    assert principal.municipality_id == home.id
    assert worker.principal(session) == principal  # as a web login builds it


@pytest.mark.parametrize("role", ["municipality", "nurse", "gp", "hospital", "admin"])
def test_a_web_login_and_a_token_give_the_same_principal(session, make_actor, role):
    # A web login builds the principal from the staff row, a token from its own query.
    actor = make_actor(role)
    assert actor.principal(session) == authenticate_token(session, actor.token, utcnow())
