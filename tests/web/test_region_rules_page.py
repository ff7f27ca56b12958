"""The admin's page for a region's own rules: listed over time, a new set from a date, a refused
one shown again as she filled it in, and nobody but an admin."""

from __future__ import annotations

from sqlalchemy import select

from bridge.domain.registry.models import Organisation, OrganisationKind, RegionRules


def _region(session, code: str = "DK-81") -> Organisation:
    return session.scalar(
        select(Organisation).where(
            Organisation.kind == OrganisationKind.REGION, Organisation.region_code == code
        )
    )


def test_an_admin_gives_a_region_rules_from_a_date(make_web_user, session):
    admin = make_web_user("admin")
    admin.login()
    region = _region(session)
    index = admin.client.get("/region-rules").get_data(as_text=True)
    assert region.name in index and "Regionsregler" in index

    page = f"/regions/{region.id}/rules"
    saved = admin.post(
        page,
        {
            "valid_from": "2027-01-01",
            "closed_days": ["juleaften", "nytaarsaften"],
            "gp_ack_working_days": "3",
        },
        token_from=page,
    )

    assert saved.status_code == 303
    [row] = session.scalars(select(RegionRules).where(RegionRules.region_id == region.id)).all()
    assert (row.closed_day_names, row.gp_ack_working_days) == (["juleaften", "nytaarsaften"], 3)
    assert row.meeting_request_working_days is None
    shown = admin.client.get(page).get_data(as_text=True)
    assert "01.01.2027" in shown and "Juleaften (24. december)" in shown


def test_a_refused_set_is_shown_again_as_filled_in(make_web_user, session):
    admin = make_web_user("admin")
    admin.login()
    region = _region(session)
    page = f"/regions/{region.id}/rules"
    first = {"valid_from": "2027-02-01", "meeting_request_working_days": "4"}
    assert admin.post(page, first, token_from=page).status_code == 303

    bad_number = admin.post(
        page,
        {"valid_from": "2027-03-01", "closed_days": ["juleaften"], "gp_ack_working_days": "99"},
        token_from=page,
    )
    same_date = admin.post(page, first, token_from=page)

    assert bad_number.status_code == 422
    html = bad_number.get_data(as_text=True)
    assert "Skriv et helt antal arbejdsdage fra 1 til 60." in html
    assert 'value="2027-03-01"' in html and 'value="juleaften" checked' in html
    assert same_date.status_code == 409
    assert "Regionen har allerede regler fra den dato." in same_date.get_data(as_text=True)
    assert (
        session.scalar(select(RegionRules).where(RegionRules.valid_from.is_not(None))) is not None
    )


def test_only_an_admin_sees_the_rules(make_web_user, session):
    nurse = make_web_user("nurse")
    nurse.login()
    region = _region(session)
    assert nurse.client.get("/region-rules").status_code == 403
    assert nurse.client.get(f"/regions/{region.id}/rules").status_code == 403


def test_a_region_that_closes_takes_no_rules_after_it_ends(make_web_user, session):
    admin = make_web_user("admin")
    admin.login()
    sjaelland = _region(session, "DK-85")
    page = f"/regions/{sjaelland.id}/rules"
    refused = admin.post(page, {"valid_from": "2027-01-01"}, token_from=page)
    assert refused.status_code == 422
    assert 'value="2027-01-01"' in refused.get_data(as_text=True)
    assert session.scalar(select(RegionRules).where(RegionRules.region_id == sjaelland.id)) is None
