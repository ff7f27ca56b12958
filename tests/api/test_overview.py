"""Issue 17 item 5: the overview per region and health council, counts only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.meetings.models import Distribution, RecipientRole
from bridge.domain.registry.models import Organisation, OrganisationKind
from tests.support.meetings import final_minutes


def _region(session, code):
    return session.scalar(select(Organisation).where(Organisation.region_code == code))


def _month(moment) -> str:
    return moment.astimezone(COPENHAGEN).strftime("%Y-%m")


def test_region_overview_counts_minutes_and_flags(session, make_actor, make_patient):
    admin, nurse = make_actor("admin"), make_actor("nurse")
    hovedstaden, midt = _region(session, "DK-84"), _region(session, "DK-82")
    kbh = make_patient(nurse=nurse, municipality_code="0101")
    acked = make_patient(nurse=nurse, municipality_code="0147")
    aarhus = make_patient(nurse=nurse, municipality_code="0751")
    for p in (kbh, acked, aarhus):
        final_minutes(nurse, p.id)
    now = utcnow()
    rows = session.scalars(
        select(Distribution).where(Distribution.recipient_role == RecipientRole.GP)
    ).all()
    (mine,) = [r for r in rows if r.recipient_organisation_id == acked.gp_practice_id]
    mine.acknowledged_at = now + timedelta(hours=3)
    session.commit()
    run_gap_scan(session, now + timedelta(days=8))
    session.commit()
    month = _month(now)
    r = admin.get(f"/api/v1/overview/{hovedstaden.id}?from={month}&to={month}")
    assert r.status_code == 200, r.json
    (row,) = r.json["months"]
    assert row["month"] == month
    assert (row["minutes_final"], row["minutes_acknowledged_in_time"]) == (2, 1)
    assert row["share_acknowledged_in_time"] == 0.5
    assert row["median_hours_to_acknowledgement"] == 3.0
    assert r.json["open_flags_by_rule"]["gp_minutes_not_received"] == 2
    midt_row = admin.get(f"/api/v1/overview/{midt.id}?from={month}&to={month}").json["months"][0]
    assert midt_row["minutes_final"] == 1
    # Counts only: nothing in the answer names a patient.
    body = r.get_data(as_text=True)
    for p in (kbh, acked, aarhus):
        assert p.cpr not in body and p.name not in body
    csv = admin.get(f"/api/v1/overview/{hovedstaden.id}/csv?from={month}&to={month}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    header, line = csv.get_data(as_text=True).splitlines()
    assert header.startswith("month,minutes_final,minutes_acknowledged_in_time")
    assert line.startswith(f"{month},2,1,0.5,3.0")


def test_council_overview_and_access(session, make_actor):
    admin, nurse = make_actor("admin"), make_actor("nurse")
    council = session.scalar(
        select(Organisation).where(
            Organisation.kind == OrganisationKind.HEALTH_COUNCIL,
            Organisation.name == "Sundhedsråd Amager og Vestegnen",
        )
    )
    r = admin.get(f"/api/v1/overview/{council.id}?from=2027-01&to=2027-03")
    assert r.status_code == 200, r.json
    assert [m["month"] for m in r.json["months"]] == ["2027-01", "2027-02", "2027-03"]
    assert nurse.get(f"/api/v1/overview/{council.id}").status_code == 403
    staff = make_actor("admin", organisation=council)
    assert staff.get(f"/api/v1/overview/{council.id}").status_code == 200
    bad = admin.get(f"/api/v1/overview/{council.id}?from=2027-13")
    assert bad.status_code == 422 and "from" in bad.json["errors"]
    long = admin.get(f"/api/v1/overview/{council.id}?from=2020-01&to=2027-01")
    assert long.status_code == 422 and "to" in long.json["errors"]
    kbh = session.scalar(select(Organisation).where(Organisation.municipality_code == "0101"))
    assert admin.get(f"/api/v1/overview/{kbh.id}").status_code == 404


def test_overview_statement_count_does_not_grow(session, make_actor, make_patient, count_queries):
    admin, nurse = make_actor("admin"), make_actor("nurse")
    region = _region(session, "DK-84")
    month = _month(utcnow())
    url = f"/api/v1/overview/{region.id}?from={month}&to={month}"
    final_minutes(nurse, make_patient(nurse=nurse).id)
    with count_queries() as small:
        assert admin.get(url).status_code == 200
    for _ in range(4):
        final_minutes(nurse, make_patient(nurse=nurse).id)
    with count_queries() as large:
        assert admin.get(url).json["months"][0]["minutes_final"] >= 5
    assert small.count == large.count
