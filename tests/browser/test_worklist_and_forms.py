"""Issue 18, items 4 and 5 in a real browser: the flags worklist filtered, its 11th flag a few Tab
presses away, flags acknowledged in bulk; a relative recorded from the patient's page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bridge.domain.base import utcnow
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag
from bridge.extensions import db
from tests.support.browser import login

pytestmark = pytest.mark.browser


def test_the_worklist_is_compact_filterable_and_takes_bulk_actions(page, world):
    with world.app.app_context():
        # Not the rules about minutes: a later journey counts those flags for this patient.
        rules = ["somatic_screening_overdue", "follow_up_overdue", "patient_without_gp"]
        run_gap_scan(db.session, utcnow() + timedelta(days=30), rules=rules)
        db.session.commit()
        db.session.remove()
    login(page, world)
    page.goto("/flags")
    rows = page.locator("li.flag-row")
    assert rows.count() >= 2
    # From one flag's checkbox to the next is a few Tab presses (the handling is folded away),
    # so the 11th flag is about 40 presses down, not ~98.
    first = rows.nth(0).locator('input[type="checkbox"]')
    second = rows.nth(1).locator('input[type="checkbox"]').get_attribute("id")
    first.focus()
    presses = 0
    while page.evaluate("() => document.activeElement.id") != second and presses < 20:
        page.keyboard.press("Tab")
        presses += 1
    assert presses <= 4, presses

    page.select_option("#f-patient", str(world.anna_patient_id))
    page.get_by_role("button", name="Vis").click()
    page.wait_for_url("**/flags?**")
    mine = page.locator("li.flag-row")
    assert mine.count() >= 1
    for i in range(mine.count()):
        assert world.anna_patient_name in mine.nth(i).inner_text()
    ids = [mine.nth(i).get_attribute("id") for i in range(mine.count())]
    flag_ids = [int(str(i).split("-")[1]) for i in ids]
    with world.app.app_context():
        before = {
            f.id: (f.status, f.acknowledged_at, f.acknowledged_by_id, f.note)
            for f in db.session.scalars(select(Flag).where(Flag.id.in_(flag_ids)))
        }
        db.session.remove()
    for i in range(mine.count()):
        mine.nth(i).locator('input[type="checkbox"]').check()
    page.get_by_role("button", name="Kvittér (bliver på listen som set)").click()
    page.wait_for_url(f"**/flags?**patient={world.anna_patient_id}**")
    for flag in ids:
        assert "Kvitteret" in page.locator(f"#{flag}").inner_text()
    # The browser tests share one world: the flags go back as they were for the journeys after.
    with world.app.app_context():
        for flag in db.session.scalars(select(Flag).where(Flag.id.in_(flag_ids))):
            flag.status, flag.acknowledged_at, flag.acknowledged_by_id, flag.note = before[flag.id]
        db.session.commit()
        db.session.remove()


def test_she_records_a_relative_from_the_patient_page(page, world):
    login(page, world)
    page.goto(f"/patients/{world.anna_patient_id}")
    page.get_by_role("link", name="Registrér en pårørende").click()
    page.get_by_label("Navn").fill("Lise Browser")
    page.get_by_label("Relation").fill("søster")
    page.get_by_role("button", name="Registrér den pårørende").click()
    page.wait_for_url(f"**/patients/{world.anna_patient_id}#relatives-title")
    assert "Lise Browser" in page.locator("section[aria-labelledby=relatives-title]").inner_text()
