"""The overview read from the rollup the scheduler keeps: the same figures as counted live, a
fixed small number of statements, and the time they were counted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.overview_rollup import OverviewGroup, OverviewMonth
from bridge.domain.registry.models import Organisation, OrganisationKind
from bridge.jobs.overview import overview_rollup
from tests.support.meetings import final_minutes


def _region(session, code):
    return session.scalar(select(Organisation).where(Organisation.region_code == code))


def _months(now) -> tuple[str, str]:
    this = now.astimezone(COPENHAGEN)
    before = (this.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return before, this.strftime("%Y-%m")


def test_the_rollup_holds_what_a_live_count_says(session, make_actor, make_patient, count_queries):
    admin, nurse = make_actor("admin"), make_actor("nurse")
    hovedstaden = _region(session, "DK-84")
    for code in ("0101", "0147", "0751"):
        final_minutes(nurse, make_patient(nurse=nurse, municipality_code=code).id)
    now = utcnow()
    run_gap_scan(session, now + timedelta(days=8))
    session.commit()
    before, this = _months(now)
    url = f"/api/v1/overview/{hovedstaden.id}?from={before}&to={this}"
    live = admin.get(url).json
    assert live["as_of"] is None

    summary = overview_rollup(session, now)
    session.commit()

    groups = session.scalar(
        select(func.count()).where(
            Organisation.kind.in_([OrganisationKind.REGION, OrganisationKind.HEALTH_COUNCIL])
        )
    )
    assert 0 < summary["groups"] <= groups
    assert session.scalar(select(func.count()).select_from(OverviewGroup)) == summary["groups"]
    assert session.scalar(select(func.count()).select_from(OverviewMonth)) == summary["months"]
    with count_queries() as read:
        stored = admin.get(url).json
    assert stored["as_of"] is not None
    assert stored["months"] == live["months"]
    assert stored["open_flags_by_rule"] == live["open_flags_by_rule"]
    assert stored["months"][-1]["minutes_final"] == 2
    # Authentication, the region, the rollup's two tables and the commit: no event is read.
    assert read.count <= 8, read.statements
    # A month the rollup does not hold is counted on request.
    older = admin.get(f"/api/v1/overview/{hovedstaden.id}?from=2020-01&to=2020-02").json
    assert older["as_of"] is None


def test_the_rollup_costs_the_same_for_more_patients(
    session, make_actor, make_patient, count_queries
):
    nurse = make_actor("nurse")
    final_minutes(nurse, make_patient(nurse=nurse, municipality_code="0101").id)
    with count_queries() as few:
        overview_rollup(session, utcnow())
    for code in ("0101", "0147", "0751", "0101"):
        final_minutes(nurse, make_patient(nurse=nurse, municipality_code=code).id)
    with count_queries() as many:
        overview_rollup(session, utcnow())
    assert few.count == many.count
