"""A nurse's day in a real browser: log in, Today, Caseload, a patient, the CPR, log out."""

import re

import pytest
from sqlalchemy import select

from bridge.domain.audit import AuditEvent
from bridge.domain.auth.models import StaffLogin
from bridge.domain.registry.models import Staff
from bridge.extensions import db
from tests.support.browser import LOCKOUT_EMAIL, login

pytestmark = pytest.mark.browser


def cpr_dashed(cpr: str) -> str:
    return f"{cpr[:6]}-{cpr[6:]}"


def test_nurse_logs_in_finds_a_patient_reveals_the_cpr_and_logs_out(page, world, screenshot):
    page.goto("/today")
    assert re.search(r"/login\?next=/today$", page.url)
    screenshot(page, "01-login")
    login(page, world)
    page.wait_for_url("**/today")
    assert page.get_by_role("heading", name="I dag", level=1).is_visible()
    assert page.get_by_text("Ingen åbne flag. Intet er faldet mellem to stole.").is_visible()
    screenshot(page, "02-today")

    page.get_by_role("link", name="Patienter").click()
    page.wait_for_url("**/caseload")
    screenshot(page, "03-caseload")

    # by name
    surname = world.anna_patient_name.split()[-1]
    page.get_by_label("Navn", exact=True).fill(surname)
    page.get_by_label("Navn", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"/caseload\?name="))
    rows = page.locator("table tbody tr")
    assert rows.count() >= 1
    for i in range(rows.count()):
        assert surname in rows.nth(i).inner_text()

    # by full CPR: a form post, so the number never appears in the address bar
    page.get_by_label("CPR-nummer", exact=True).fill(cpr_dashed(world.anna_patient_cpr))
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(f"**/patients/{world.anna_patient_id}")
    assert world.anna_patient_cpr[6:] not in page.url
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == world.anna_patient_name
    cpr = page.locator("#cpr-value")
    assert cpr.inner_text() == world.anna_patient_cpr[:6] + "-xxxx"
    assert page.locator("svg.timeline").is_visible()
    screenshot(page, "04-patient")

    page.get_by_role("button", name="Vis fuldt CPR-nummer").click()
    page.wait_for_load_state()
    assert page.locator("#cpr-value").inner_text() == cpr_dashed(world.anna_patient_cpr)
    screenshot(page, "05-patient-cpr-shown")
    with world.app.app_context():
        reveals = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.resource_type == "patient_cpr",
                AuditEvent.patient_id == world.anna_patient_id,
            )
        ).all()
        db.session.remove()
    assert len(reveals) >= 1 and reveals[-1].outcome == "ok"

    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url("**/login")
    page.goto("/caseload")
    assert "/login" in page.url


def test_a_form_posted_without_its_csrf_token_is_refused(page, world, screenshot):
    login(page, world)
    page.wait_for_url("**/today")
    # Strip the token from the logout form, as a forged cross-site form would lack it.
    page.evaluate(
        "document.querySelectorAll('form[action=\"/logout\"] input[name=csrf_token]')"
        ".forEach(i => i.remove())"
    )
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Formularen er udløbet").is_visible()
    screenshot(page, "06-csrf-refused")
    page.goto("/today")
    assert page.url.endswith("/today")  # the forged logout did nothing


def test_a_nurse_cannot_open_another_nurses_patient(page, world, screenshot):
    login(page, world)
    page.wait_for_url("**/today")
    response = page.goto(f"/patients/{world.bo_patient_id}")
    assert response.status == 404
    assert page.get_by_role("heading", name="Ikke fundet").is_visible()
    screenshot(page, "07-not-found")


def test_the_account_locks_after_five_wrong_passwords(page, world, screenshot):
    for _ in range(5):
        login(page, world, LOCKOUT_EMAIL, "forkert-kodeord")
        assert page.get_by_role("alert").is_visible()
    login(page, world, LOCKOUT_EMAIL)  # the right password, but too late
    assert "/login" in page.url
    assert "spærret" in page.get_by_role("alert").inner_text()
    screenshot(page, "08-locked")
    with world.app.app_context():
        staff_id = db.session.scalar(select(Staff.id).where(Staff.email == LOCKOUT_EMAIL))
        row = db.session.get(StaffLogin, staff_id)
        assert row.locked_until is not None
        db.session.remove()


def test_keyboard_users_can_skip_to_content_and_jump_to_search(page, world):
    login(page, world)
    page.wait_for_url("**/today")
    page.goto("/caseload")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Gå til indhold"
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "name"


def test_english_can_be_chosen_from_the_menu(page, world):
    login(page, world)
    page.wait_for_url("**/today")
    with page.expect_navigation():  # the menu submits itself (a little JavaScript)
        page.get_by_label("Sprog").select_option("en")
    assert page.get_by_role("heading", name="Today", level=1).is_visible()
    with page.expect_navigation():
        page.get_by_label("Language").select_option("da")
    assert page.get_by_role("heading", name="I dag", level=1).is_visible()


def test_the_pages_fit_a_tablet_without_sideways_scrolling(browser, world, screenshot):
    context = browser.new_context(
        base_url=world.base_url, viewport={"width": 768, "height": 1024}, locale="da-DK"
    )
    page = context.new_page()
    try:
        login(page, world)
        page.wait_for_url("**/today")
        for url, name in (
            ("/today", "09-tablet-today"),
            ("/caseload", "10-tablet-caseload"),
            (f"/patients/{world.anna_patient_id}", "11-tablet-patient"),
        ):
            page.goto(url)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{url} scrolls sideways by {overflow}px"
            screenshot(page, name)
    finally:
        context.close()
