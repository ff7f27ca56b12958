"""Issue 17 item 4: a region's own closed days and gap thresholds change its patients only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bridge.domain.base import utcnow
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.registry.models import Organisation
from bridge.domain.registry.region_rules import settings_in_force
from tests.support.care import MUNICIPALITY, plan_after
from tests.support.gaps import live
from tests.support.meetings import final_minutes


def _region(session, code: str) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.region_code == code))


@pytest.fixture
def admin(make_actor):
    return make_actor("admin")


def test_admin_gives_a_region_rules_from_a_date(session, admin, make_actor):
    midt = _region(session, "DK-82")
    url = f"/api/v1/regions/{midt.id}/rules"
    body = {
        "valid_from": "2027-01-01",
        "closed_days": ["juleaften", "nytaarsaften"],
        "gp_ack_working_days": 3,
    }
    r = admin.post(url, json=body)
    assert r.status_code == 201, r.json
    assert r.json["closed_days"] == ["juleaften", "nytaarsaften"]
    assert admin.post(url, json=body).status_code == 409
    assert (
        make_actor("nurse").post(url, json={**body, "valid_from": "2027-02-01"}).status_code == 403
    )
    bad = admin.post(url, json={**body, "valid_from": "2027-03-01", "closed_days": ["påske"]})
    assert bad.status_code == 422 and "closed_days.0" in bad.json["errors"]
    bad = admin.post(url, json={**body, "valid_from": "2027-03-01", "gp_ack_working_days": 0})
    assert bad.status_code == 422 and "gp_ack_working_days" in bad.json["errors"]
    kbh = session.scalar(select(Organisation).where(Organisation.municipality_code == "0101"))
    assert admin.post(f"/api/v1/regions/{kbh.id}/rules", json=body).status_code == 404
    # A merged region's rules stop with it: the successor gets its own set.
    hovedstaden = _region(session, "DK-84")
    late = admin.post(f"/api/v1/regions/{hovedstaden.id}/rules", json=body)
    assert late.status_code == 422 and "valid_from" in late.json["errors"]
    assert [x["valid_from"] for x in admin.get(url).json["items"]] == ["2027-01-01"]


def test_a_regions_gp_threshold_changes_its_patients_flags_only(
    session, admin, make_actor, make_patient
):
    midt = _region(session, "DK-82")
    r = admin.post(
        f"/api/v1/regions/{midt.id}/rules",
        json={"valid_from": "2020-01-01", "gp_ack_working_days": 20},
    )
    assert r.status_code == 201, r.json
    nurse = make_actor("nurse")
    aarhus = make_patient(nurse=nurse, municipality_code="0751")
    kbh = make_patient(nurse=nurse, municipality_code="0101")
    _, aarhus_minutes = final_minutes(nurse, aarhus.id)
    _, kbh_minutes = final_minutes(nurse, kbh.id)
    rule = "gp_minutes_not_received"
    run_gap_scan(session, utcnow() + timedelta(days=8), rules=[rule])
    session.commit()
    assert live(session, rule, kbh_minutes["id"])
    assert live(session, rule, aarhus_minutes["id"]) == []
    # Past the region's own 20 working days it is flagged too.
    run_gap_scan(session, utcnow() + timedelta(days=40), rules=[rule])
    session.commit()
    assert live(session, rule, aarhus_minutes["id"])


def test_a_regions_closed_days_change_its_patients_deadlines_only(
    session,
    admin,
    make_actor,
    make_patient,
    department,
):
    hovedstaden = _region(session, "DK-84")
    r = admin.post(
        f"/api/v1/regions/{hovedstaden.id}/rules",
        json={"valid_from": "2020-01-01", "closed_days": ["juleaften", "nytaarsaften"]},
    )
    assert r.status_code == 201, r.json
    nurse = make_actor("nurse")
    ward = department()
    stay = {"admitted": "2025-12-15T10:00:00+01:00", "discharged": "2025-12-23T10:00:00+01:00"}
    kbh = plan_after(nurse, make_patient(nurse=nurse, municipality_code="0101"), ward, **stay)
    aarhus = plan_after(nurse, make_patient(nurse=nurse, municipality_code="0751"), ward, **stay)
    # One working day: 24 December is closed in Hovedstaden, then Christmas and the weekend.
    assert kbh[MUNICIPALITY]["due_at"] == "2025-12-30T00:00:00+01:00"
    assert aarhus[MUNICIPALITY]["due_at"] == "2025-12-25T00:00:00+01:00"


def test_ostdanmark_has_one_set_from_2027(session, admin, make_actor, make_patient):
    """Hovedstaden's and Sjælland's own rules end with them; Østdanmark's one set applies to
    both old regions' patients from 1 January 2027."""
    ost = session.scalar(select(Organisation).where(Organisation.name == "Region Østdanmark"))
    for code, days in (("DK-84", 20), ("DK-85", 30)):
        admin.post(
            f"/api/v1/regions/{_region(session, code).id}/rules",
            json={"valid_from": "2020-01-01", "gp_ack_working_days": days},
        )
    admin.post(
        f"/api/v1/regions/{ost.id}/rules",
        json={"valid_from": "2027-01-01", "gp_ack_working_days": 5},
    )

    dec = settings_in_force(session, date(2026, 12, 31))
    jan = settings_in_force(session, date(2027, 1, 1))
    assert {dec[_region(session, c).id].gp_ack_working_days for c in ("DK-84", "DK-85")} == {
        20,
        30,
    }
    assert jan[ost.id].gp_ack_working_days == 5
