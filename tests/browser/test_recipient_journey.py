"""A GP's end of the bridge in a real browser: log in, the inbox, the minutes it was sent, its
own action item done, the receipt acknowledged, and a request for a new meeting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bridge.domain.access import load_principal
from bridge.domain.auth.services import set_password
from bridge.domain.base import utcnow
from bridge.domain.meetings import minutes as minutes_service
from bridge.domain.meetings import scheduling
from bridge.domain.meetings.models import (
    ActionItem,
    ActionItemStatus,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Staff
from bridge.extensions import db
from tests.support.browser import login

pytestmark = pytest.mark.browser

GP_EMAIL = "gp.noerrebro@bridge.demo"


def _minutes_for_the_gp(world) -> tuple[int, int, str]:
    """Anna's patient, listed with the demo GP practice, with final minutes giving the GP a task:
    (meeting id, patient id, patient CPR)."""
    with world.app.app_context():
        gp = db.session.scalar(select(Staff).where(Staff.email == GP_EMAIL))
        set_password(db.session, gp, world.password, utcnow())
        anna = db.session.scalar(select(Staff).where(Staff.email == world.anna_email))
        patient = db.session.get(Patient, world.anna_patient_id)
        patient.gp_practice_id = gp.organisation_id
        nurse = load_principal(db.session, anna)
        start = utcnow() - timedelta(hours=3)
        meeting = scheduling.create_meeting(
            db.session,
            nurse,
            {"patient_id": patient.id, "scheduled_start": start,
             "scheduled_end": start + timedelta(hours=1), "place": "Klinikken"},
        )  # fmt: skip
        scheduling.hold_meeting(db.session, nurse, meeting.id, [])
        version = minutes_service.create_minutes(
            db.session,
            nurse,
            meeting.id,
            minutes_service.NewMinutes(
                summary="Stabil i behandling, men isoleret i hjemmet.",
                decisions="Bostøtte to gange om ugen.",
                action_items=(
                    minutes_service.ActionItemInput(
                        description="Blodprøver og EKG",
                        responsible_organisation_id=gp.organisation_id,
                    ),
                ),
            ),
        )  # fmt: skip
        minutes_service.finalise_minutes(db.session, nurse, version)
        facts = (meeting.id, patient.id, patient.cpr)
        db.session.commit()
        db.session.remove()
    return facts


def test_gp_reads_the_minutes_closes_its_task_and_asks_for_a_meeting(page, world, screenshot):
    meeting_id, patient_id, cpr = _minutes_for_the_gp(world)
    login(page, world, email=GP_EMAIL)
    page.wait_for_url("**/inbox")
    assert page.get_by_role("heading", name="Indbakke", level=1).is_visible()
    assert page.get_by_role("link", name="I dag").count() == 0
    screenshot(page, "20-recipient-inbox")

    page.locator("[data-section=messages] a").first.click()
    page.wait_for_url("**/inbox/*")
    page.get_by_role("link", name="Læs referatet").click()
    page.wait_for_url(f"**/received/meetings/{meeting_id}/minutes/1")
    assert page.locator("#minutes-summary").inner_text().startswith("Stabil i behandling")
    assert page.get_by_role("link", name="Referatet som PDF").get_attribute("href") == (
        f"/meetings/{meeting_id}/minutes/1/pdf"
    )
    screenshot(page, "21-recipient-minutes")

    page.get_by_role("button", name="Markér som udført").click()
    page.wait_for_load_state()
    assert page.locator("#minutes-items [data-status=done]").count() == 1
    page.get_by_role("button", name="Kvittér for modtagelsen").click()
    page.wait_for_load_state()

    page.get_by_role("link", name="Bed om et nyt møde").click()
    page.wait_for_url("**/meeting-request?patient_id=*")
    page.get_by_label("Hvorfor er der brug for et møde?").fill("Ny medicin skal drøftes")
    page.get_by_label("Haster").check()
    page.get_by_label("Hvem bør deltage?").fill("Bostøtten og psykiatrien")
    screenshot(page, "22-recipient-request")
    page.get_by_role("button", name="Send ønsket").click()
    page.wait_for_url("**/inbox?sent=request*")
    assert page.locator("#request-sent").is_visible()

    with world.app.app_context():
        item = db.session.scalar(
            select(ActionItem)
            .join(MinutesVersion, MinutesVersion.id == ActionItem.minutes_version_id)
            .where(MinutesVersion.meeting_id == meeting_id)
        )
        assert item.status == ActionItemStatus.DONE
        # Done, so no longer among the open items of the inbox.
        assert page.locator(f"[data-section=action-items] [data-item='{item.id}']").count() == 0
        request = db.session.scalar(
            select(NetworkMeeting)
            .where(NetworkMeeting.patient_id == patient_id, NetworkMeeting.status == "requested")
            .order_by(NetworkMeeting.id.desc())
        )
        assert request.request_urgency == "urgent"
        assert "Ny medicin skal drøftes" in request.request_reason
        assert cpr not in page.content()
        db.session.remove()
