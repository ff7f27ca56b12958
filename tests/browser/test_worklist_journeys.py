"""The nurse's daily work in a real browser: a gap on Today, a meeting from plan to distributed
minutes, a discharge plan worked off, and a stale minutes edit refused without losing the text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from bridge.domain.base import utcnow
from bridge.domain.care import follow_ups as follow_ups_service
from bridge.domain.care.models import Admission, Destination
from bridge.domain.gaps.engine import RULES, run_gap_scan
from bridge.domain.meetings.models import Distribution, RecipientRole
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Organisation, OrganisationKind, Specialty, Staff
from bridge.domain.registry.services import issue_token
from bridge.extensions import db
from tests.support.browser import login

pytestmark = pytest.mark.browser

GP_RULE = "gp_minutes_not_received"


def _scan(world, rules=None) -> None:
    with world.app.app_context():
        run_gap_scan(db.session, utcnow() + timedelta(days=30), rules=rules)
        db.session.commit()
        db.session.remove()


def _minutes_flags_for(page, patient_name: str) -> int:
    """Today's flags about minutes for this patient (the demo has other patients' flags too)."""
    return (
        page.locator('[data-section="flags"] li.flag-group')
        .filter(has_text=patient_name)
        .locator(".item")
        .filter(has_text=re.compile("referat", re.I))
        .locator("[data-flag]")
        .count()
    )


def _gp_token(world, patient_id: int) -> str:
    """A GP at the patient's practice, with an API token."""
    from bridge.domain.registry.models import Role, StaffRole

    with world.app.app_context():
        practice = db.session.scalar(select(Patient.gp_practice_id).where(Patient.id == patient_id))
        gp = Staff(organisation_id=practice, name="Læge Gitte")
        gp.role_rows = [StaffRole(role=Role.GP)]
        db.session.add(gp)
        db.session.flush()
        secret = issue_token(db.session, gp, label="browser", expires_at=None).secret
        db.session.commit()
        db.session.remove()
    return secret


def test_meeting_from_plan_to_acknowledged_minutes_clears_the_gap(page, world, screenshot):
    patient_url = f"/patients/{world.anna_patient_id}"
    login(page, world)
    page.wait_for_url("**/today")
    # A gap on Today: whatever the scan finds among the demo patients.
    _scan(world, ["patient_without_gp"])
    page.reload()
    screenshot(page, "10-today-with-gaps")

    page.goto(patient_url)
    page.get_by_role("link", name="Planlæg et møde").first.click()
    page.wait_for_url("**/meetings/new")
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    page.get_by_label("Dato").fill(yesterday)
    page.get_by_label("Fra").fill("10:00")
    page.get_by_label("Til").fill("11:00")
    page.get_by_label("Sted").fill("Psykiatrisk Center, mødelokale 2")
    page.get_by_label("Dagsorden").fill("Udskrivelse og opfølgning")
    screenshot(page, "11-meeting-plan")
    page.get_by_role("button", name="Planlæg møde").click()
    page.wait_for_url(re.compile(r"/meetings/\d+$"))
    meeting_url = page.url
    page.get_by_role("button", name="Registrér mødet som afholdt").click()
    page.wait_for_load_state()
    assert page.locator("#meeting-status").inner_text() == "Afholdt"

    page.get_by_label("Resumé").fill("Patienten har det bedre. Medicin uændret.")
    page.get_by_label("Opgave 1", exact=True).fill("Kontrol hos egen læge")
    page.get_by_role("button", name="Gem kladde").click()
    page.wait_for_url("**done=saved")
    page.reload()
    assert "Medicin uændret" in page.get_by_label("Resumé").input_value()
    screenshot(page, "12-minutes-draft")
    page.get_by_role("button", name="Gør endeligt og send").click()
    page.wait_for_url("**done=final")
    gp_row = page.locator('#distribution tr[data-role="gp"]')
    assert gp_row.count() == 1
    screenshot(page, "13-minutes-distribution")

    if GP_RULE in RULES:
        _scan(world, [GP_RULE])
        page.goto("/today")
        assert _minutes_flags_for(page, world.anna_patient_name) == 1
    with world.app.app_context():
        dist_id = db.session.scalar(
            select(Distribution.id)
            .where(Distribution.recipient_role == RecipientRole.GP)
            .order_by(Distribution.id.desc())
            .limit(1)
        )
    token = _gp_token(world, world.anna_patient_id)
    r = requests.post(
        f"{world.base_url}/api/v1/distributions/{dist_id}/ack",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    page.goto(meeting_url)
    assert page.locator('#distribution tr[data-role="gp"]').get_attribute("data-status") == (
        "acknowledged"
    )
    if GP_RULE in RULES:
        _scan(world, [GP_RULE])
        page.goto("/today")
        assert _minutes_flags_for(page, world.anna_patient_name) == 0


def test_a_discharge_plan_is_worked_off(page, world, screenshot):
    with world.app.app_context():
        ward = db.session.scalar(
            select(Organisation.id)
            .where(
                Organisation.kind == OrganisationKind.HOSPITAL_DEPARTMENT,
                Organisation.specialty == Specialty.PSYCHIATRY,
            )
            .limit(1)
        )
        now = utcnow()
        admission = Admission(
            patient_id=world.anna_patient_id, department_id=ward, specialty=Specialty.PSYCHIATRY,
            acute=True, admitted_at=now - timedelta(days=10), discharged_at=now - timedelta(days=5),
            destination=Destination.HOME,
        )  # fmt: skip
        db.session.add(admission)
        db.session.flush()
        from bridge.domain.access import load_principal

        nurse = db.session.scalar(select(Staff).where(Staff.email == world.anna_email))
        tasks = follow_ups_service.plan_follow_up(
            db.session, load_principal(db.session, nurse), admission
        )
        assert tasks
        admission_id, first_title = admission.id, tasks[0].title
        db.session.commit()
        db.session.remove()
    login(page, world)
    page.wait_for_url("**/today")
    # Only this stay's tasks count: the demo data has other discharges with the same templates.
    # A late task is under "today", one ending in the next two working days under "follow_ups".
    this_stay = ", ".join(
        f'[data-section="{key}"] li.item:has(a[href^="/admissions/{admission_id}#task-"])'
        for key in ("today", "follow_ups")
    )
    assert page.locator(this_stay).get_by_text(first_title).count() >= 1
    assert (
        page.locator('[data-section="discharges"]')
        .locator(f'a[href="/admissions/{admission_id}"]')
        .count()
        == 1
    )
    screenshot(page, "20-today-discharge")
    page.goto(f"/admissions/{admission_id}")
    screenshot(page, "21-discharge-plan")
    item = page.locator(f'li[data-task="{first_title}"]')
    item.get_by_role("button", name="Markér som udført").click()
    page.wait_for_load_state()
    assert "status-done" in page.locator(f'li[data-task="{first_title}"]').get_attribute("class")
    page.goto("/today")
    assert page.locator(this_stay).get_by_text(first_title).count() == 0
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"/admissions/{admission_id}")
    screenshot(page, "22-discharge-plan-tablet")


def test_a_stale_minutes_edit_is_refused_and_the_text_kept(browser, world, screenshot):
    first = browser.new_context(base_url=world.base_url, viewport={"width": 1280, "height": 900})
    second = browser.new_context(base_url=world.base_url, viewport={"width": 1280, "height": 900})
    try:
        a, b = first.new_page(), second.new_page()
        for tab in (a, b):
            login(tab, world)
            tab.wait_for_url("**/today")
        a.goto(f"/patients/{world.anna_patient_id}/meetings/new")
        a.get_by_label("Dato").fill((utcnow() - timedelta(days=2)).date().isoformat())
        a.get_by_role("button", name="Planlæg møde").click()
        a.wait_for_url(re.compile(r"/meetings/\d+$"))
        meeting_url = a.url
        a.get_by_role("button", name="Registrér mødet som afholdt").click()
        a.get_by_label("Resumé").fill("Udkast")
        a.get_by_role("button", name="Gem kladde").click()
        a.wait_for_url("**done=saved")
        b.goto(meeting_url)
        a.reload()
        a.get_by_label("Resumé").fill("Annas version")
        a.get_by_role("button", name="Gem kladde").click()
        a.wait_for_url("**done=saved")
        b.get_by_label("Resumé").fill("Min lange tekst, som ikke må gå tabt")
        b.get_by_role("button", name="Gem kladde").click()
        b.wait_for_load_state()
        assert b.locator("#stale-warning").is_visible()
        assert "En anden har ændret referatet" in b.locator("#stale-warning").inner_text()
        assert b.locator("#theirs-summary").inner_text() == "Annas version"
        assert b.get_by_label("Resumé").input_value() == "Min lange tekst, som ikke må gå tabt"
        screenshot(b, "30-minutes-stale-edit")
        b.get_by_role("button", name="Gem kladde").click()  # a deliberate second save wins
        b.wait_for_url("**done=saved")
        assert b.get_by_label("Resumé").input_value() == "Min lange tekst, som ikke må gå tabt"
        b.goto("/flags")
        screenshot(b, "31-flags")
    finally:
        first.close()
        second.close()
