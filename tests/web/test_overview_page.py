"""The overview page: charts as SVG, the figures as a table and CSV, for admins only here."""

from __future__ import annotations

from sqlalchemy import select

from bridge.domain.registry.models import Organisation
from bridge.web.overview import share_chart


def test_admin_sees_the_overview_with_charts_and_csv(make_web_user, session):
    admin = make_web_user("admin")
    admin.login()
    region = session.scalar(select(Organisation).where(Organisation.name == "Region Østdanmark"))
    page = admin.client.get(f"/overview/{region.id}?from=2027-01&to=2027-03")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") >= 3
    assert "Overblik: Region Østdanmark" in html  # Danish by default
    assert "2027-03" in html
    csv = admin.client.get(f"/overview/{region.id}/csv?from=2027-01&to=2027-03")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert len(csv.get_data(as_text=True).splitlines()) == 4


def test_a_nurse_may_not_see_the_overview(make_web_user, session):
    nurse = make_web_user("nurse")
    nurse.login()
    region = session.scalar(select(Organisation).where(Organisation.region_code == "DK-82"))
    assert nurse.client.get(f"/overview/{region.id}").status_code == 403


def test_share_chart_draws_a_bar_per_month_with_cases():
    svg = share_chart("T <&>", ["2027-01", "2027-02"], [0.5, None])
    assert svg.count("<rect") == 1
    assert "T &lt;&amp;&gt;" in svg
    assert "&#8211;" in svg  # the month without cases
