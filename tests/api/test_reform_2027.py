"""Issue 17: organisations as of a date, Region Østdanmark, the health councils, successors."""

from __future__ import annotations

import csv
from datetime import date
from importlib import resources

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError

from bridge import create_app
from bridge.domain.errors import Conflict
from bridge.domain.registry.effective import (
    check_identifiers_free,
    nurse_employer,
    periods_overlap,
    region_of,
)
from bridge.domain.registry.models import BridgeNurse, Organisation, OrganisationKind
from bridge.extensions import db
from tests.support.database import fresh_database

DEC31, JAN1 = "2026-12-31", "2027-01-01"


def _by_name(session, name: str) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.name == name).limit(1))


def _names(items) -> set[str]:
    return {o["name"] for o in items}


def test_the_region_list_reads_as_the_reform_says(make_actor):
    admin = make_actor("admin")

    def regions(on):
        r = admin.get(f"/api/v1/organisations?kind=region&valid_on={on}&limit=200")
        return _names(r.json["items"]) - {n for n in _names(r.json["items"]) if "Admin" in n}

    assert regions(DEC31) == {
        "Region Nordjylland",
        "Region Midtjylland",
        "Region Syddanmark",
        "Region Hovedstaden",
        "Region Sjælland",
    }
    assert regions(JAN1) == {
        "Region Nordjylland",
        "Region Midtjylland",
        "Region Syddanmark",
        "Region Østdanmark",
    }


def test_hovedstaden_and_sjaelland_have_ostdanmark_as_successor(session, make_actor):
    admin = make_actor("admin")
    ost = _by_name(session, "Region Østdanmark")
    for code in ("DK-84", "DK-85"):
        old = session.scalar(select(Organisation).where(Organisation.region_code == code))
        body = admin.get(f"/api/v1/organisations/{old.id}").json
        assert (body["valid_to"], body["successor_id"]) == (DEC31, ost.id)
    assert admin.get(f"/api/v1/organisations/{ost.id}").json["valid_from"] == JAN1


def test_a_municipality_belongs_to_the_region_of_the_date(make_actor, municipality):
    admin = make_actor("admin")
    kbh, aarhus, roskilde = municipality("0101"), municipality("0751"), municipality("0265")
    at = lambda org, on: admin.get(f"/api/v1/organisations/{org.id}/region?on={on}").json["name"]  # noqa: E731
    assert at(kbh, DEC31) == "Region Hovedstaden"
    assert at(kbh, JAN1) == "Region Østdanmark"
    assert at(roskilde, DEC31) == "Region Sjælland"
    assert at(roskilde, JAN1) == "Region Østdanmark"
    assert at(aarhus, DEC31) == at(aarhus, JAN1) == "Region Midtjylland"


def test_a_patients_region_changes_on_new_years_day(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse, municipality_code="0147")
    url = f"/api/v1/patients/{patient.id}/region"
    assert nurse.get(f"{url}?on={DEC31}").json["name"] == "Region Hovedstaden"
    assert nurse.get(f"{url}?on={JAN1}").json["name"] == "Region Østdanmark"
    # Somebody else's patient: 404 like a missing one.
    other = make_actor("nurse")
    assert other.get(f"{url}?on={JAN1}").status_code == 404


def test_a_nurse_of_a_merged_region_keeps_caseload_and_financing(session, make_actor, make_patient):
    nurse = make_actor("nurse")  # employed by Region Hovedstaden
    patient = make_patient(nurse=nurse)
    before = nurse.get(f"/api/v1/nurses/{nurse.id}").json
    url = f"/api/v1/nurses/{nurse.id}/employer"
    assert nurse.get(f"{url}?on={DEC31}").json["name"] == "Region Hovedstaden"
    assert nurse.get(f"{url}?on={JAN1}").json["name"] == "Region Østdanmark"
    # The merger changes no row of hers: same financing, same caseload.
    assert nurse.get(f"/api/v1/nurses/{nurse.id}").json["financing"] == before["financing"]
    caseload = nurse.get("/api/v1/patients?limit=200").json["items"]
    assert patient.id in {p["id"] for p in caseload}
    record = session.get(BridgeNurse, nurse.id)
    assert nurse_employer(session, record, date(2027, 1, 1)).name == "Region Østdanmark"


def test_hospitals_and_departments_belong_to_ostdanmark_from_2027(session, make_actor, region):
    admin = make_actor("admin")
    # An existing hospital of Hovedstaden, then the reference data brought forward.
    hospital = admin.post(
        "/api/v1/organisations",
        json={"kind": "hospital", "name": "Rigshospitalet", "parent_id": region.id},
    ).json
    dept = admin.post(
        "/api/v1/organisations",
        json={
            "kind": "hospital_department",
            "name": "Psykiatrisk Center",
            "parent_id": hospital["id"],
            "specialty": "psychiatry",
        },
    ).json
    at = lambda org_id, on: admin.get(f"/api/v1/organisations/{org_id}/region?on={on}").json  # noqa: E731
    assert at(dept["id"], DEC31)["name"] == "Region Hovedstaden"
    assert at(dept["id"], JAN1)["name"] == "Region Østdanmark"
    from bridge.domain.registry.reform2027 import apply_2027_structure

    apply_2027_structure(session.connection())
    session.expire_all()
    # Now through explicit membership rows; same answers.
    assert region_of(session, dept["id"], date(2026, 12, 31)).name == "Region Hovedstaden"
    assert region_of(session, dept["id"], date(2027, 1, 1)).name == "Region Østdanmark"


def _reference_councils() -> dict[str, set[str]]:
    text_ = resources.files("bridge.data").joinpath("health-councils.csv").read_text("utf-8")
    out: dict[str, set[str]] = {}
    for row in csv.DictReader(text_.splitlines()):
        out.setdefault(row["council_name"], set()).add(row["municipality_code"])
    return out


def test_the_councils_and_memberships_match_the_reference_data(session, make_actor):
    admin = make_actor("admin")
    councils = admin.get("/api/v1/organisations?kind=health_council&limit=200").json["items"]
    assert len(councils) == 17
    expected = _reference_councils()
    got = {}
    for council in councils:
        members = admin.get(f"/api/v1/organisations/{council['id']}/members?on={JAN1}").json
        got[council["name"]] = {m["municipality_code"] for m in members["items"]}
    assert got == expected
    assert sum(len(v) for v in got.values()) == 98
    # Before the reform a municipality is in no council.
    amager = next(c for c in councils if c["name"] == "Sundhedsråd Amager og Vestegnen")
    assert admin.get(f"/api/v1/organisations/{amager['id']}/members?on={DEC31}").json == {
        "items": []
    }
    brondby = session.scalar(select(Organisation).where(Organisation.municipality_code == "0153"))
    r = admin.get(f"/api/v1/organisations/{brondby.id}/health-council?on={JAN1}")
    assert r.json["name"] == "Sundhedsråd Amager og Vestegnen"
    assert admin.get(f"/api/v1/organisations/{brondby.id}/region?on={JAN1}").json["name"] == (
        "Region Østdanmark"
    )


def test_seed_reference_again_changes_nothing(runner, session):
    before = session.scalar(select(func.count()).select_from(Organisation))
    result = runner.invoke(args=["seed-reference"])
    assert result.exit_code == 0, result.output
    assert "17 health councils (0 new)" in result.output
    assert session.scalar(select(func.count()).select_from(Organisation)) == before


# --- SOR / GLN unique within overlapping validity --------------------------------------------


def test_sor_and_gln_may_be_reused_after_the_first_holder_closed(make_actor):
    admin = make_actor("admin")
    first = {
        "kind": "gp_practice",
        "name": "Lægerne i Byen",
        "sor_code": "123456789012",
        "gln": "5790000000005",
        "valid_to": "2026-12-31",
    }
    assert admin.post("/api/v1/organisations", json=first).status_code == 201
    later = {**first, "name": "Nye Læger", "valid_from": "2027-01-01", "valid_to": None}
    r = admin.post("/api/v1/organisations", json=later)
    assert r.status_code == 201, r.json
    overlapping = {**later, "name": "Tredje", "valid_from": "2026-12-31"}
    r = admin.post("/api/v1/organisations", json=overlapping)
    assert r.status_code == 409
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "overlapping" in r.json["detail"]


def test_extending_a_validity_into_an_overlap_is_refused(make_actor, session):
    admin = make_actor("admin")
    base = {"kind": "gp_practice", "sor_code": "223456789012"}
    old = admin.post(
        "/api/v1/organisations", json={**base, "name": "Gammel", "valid_to": "2026-06-30"}
    )
    admin.post("/api/v1/organisations", json={**base, "name": "Ny", "valid_from": "2026-07-01"})
    r = admin.patch(
        f"/api/v1/organisations/{old.json['id']}",
        json={"valid_to": None},
        headers={"If-Match": old.headers["ETag"]},
    )
    assert r.status_code == 409
    assert session.get(Organisation, old.json["id"]).valid_to == date(2026, 6, 30)


def test_postgresql_refuses_an_overlap_that_skips_the_service(session):
    session.add(Organisation(kind=OrganisationKind.GP_PRACTICE, name="A", sor_code="3234"))
    session.flush()
    clash = Organisation(kind=OrganisationKind.GP_PRACTICE, name="B", sor_code="3234")
    with pytest.raises(IntegrityError, match="ex_organisation_sor_code_period"):  # noqa: SIM117
        with session.begin_nested():
            session.add(clash)
            session.flush()


def test_overlap_rules_unit():
    d = date
    assert periods_overlap(None, d(2026, 12, 31), d(2026, 12, 31), None)
    assert not periods_overlap(None, d(2026, 12, 31), d(2027, 1, 1), None)
    assert periods_overlap(None, None, d(2030, 1, 1), d(2030, 1, 1))
    assert not periods_overlap(d(2027, 2, 1), None, None, d(2027, 1, 31))


def test_check_identifiers_free_names_the_holder(session):
    holder = Organisation(kind=OrganisationKind.GP_PRACTICE, name="A", gln="5790000000005")
    session.add(holder)
    session.flush()
    with pytest.raises(Conflict, match=f"organisation {holder.id}"):
        check_identifiers_free(
            session, Organisation(kind=OrganisationKind.GP_PRACTICE, name="B", gln="5790000000005")
        )


# --- the migration brings an existing database forward ----------------------------------------


def test_the_migration_brings_an_existing_database_forward():
    with fresh_database("bridge_reform") as url:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
        with app.app_context():
            upgrade(revision="0006")
            engine = create_engine(url)
            with engine.begin() as conn:
                # A database seeded before the reform, with a hospital of Hovedstaden.
                conn.execute(
                    text(
                        "INSERT INTO organisation (kind, name, region_code, created_at, version) "
                        "VALUES ('region', 'Region Hovedstaden', 'DK-84', now(), 1), "
                        "('region', 'Region Sjælland', 'DK-85', now(), 1), "
                        "('region', 'Region Midtjylland', 'DK-82', now(), 1)"
                    )
                )
                ids = dict(conn.execute(text("SELECT region_code, id FROM organisation")).all())
                conn.execute(
                    text(
                        "INSERT INTO organisation (kind, name, municipality_code, parent_id, "
                        "created_at, version) VALUES "
                        "('municipality', 'København Kommune', '0101', :h, now(), 1), "
                        "('municipality', 'Aarhus Kommune', '0751', :m, now(), 1), "
                        "('hospital', 'Rigshospitalet', NULL, :h, now(), 1)"
                    ),
                    {"h": ids["DK-84"], "m": ids["DK-82"]},
                )
            upgrade()
            with app.test_request_context():
                session = db.session
                kbh = session.scalar(
                    select(Organisation).where(Organisation.municipality_code == "0101")
                )
                rh = _by_name(session, "Rigshospitalet")
                # History kept: the old parent is still there, and answers for 2026.
                assert kbh.parent_id == ids["DK-84"]
                assert region_of(session, kbh.id, date(2026, 12, 31)).region_code == "DK-84"
                assert region_of(session, kbh.id, date(2027, 1, 1)).name == "Region Østdanmark"
                assert region_of(session, rh.id, date(2027, 1, 1)).name == "Region Østdanmark"
                hovedstaden = session.get(Organisation, ids["DK-84"])
                assert hovedstaden.valid_to == date(2026, 12, 31)
                assert session.get(Organisation, hovedstaden.successor_id).name == (
                    "Region Østdanmark"
                )
                councils = session.scalar(
                    select(func.count())
                    .select_from(Organisation)
                    .where(Organisation.kind == OrganisationKind.HEALTH_COUNCIL)
                )
                assert councils == 17
                db.session.remove()
            engine.dispose()
            db.engine.dispose()
