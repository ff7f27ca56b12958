"""Issue 18, item 6: printed minutes keep everything but the buttons (the participant list
too), and the PDF sent to the GP is one click away on screen."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bridge.domain.meetings.models import MinutesStatus, MinutesVersion, NetworkMeeting
from bridge.domain.registry.models import Staff
from bridge.extensions import db
from tests.support.browser import login

pytestmark = pytest.mark.browser


def _meeting_with_final_minutes(world) -> int:
    with world.app.app_context():
        anna = db.session.scalar(select(Staff.id).where(Staff.email == world.anna_email))
        return db.session.scalar(
            select(NetworkMeeting.id)
            .join(MinutesVersion, MinutesVersion.meeting_id == NetworkMeeting.id)
            .where(
                MinutesVersion.status == MinutesStatus.FINAL,
                NetworkMeeting.organiser_id == anna,
            )
            .order_by(NetworkMeeting.id)
            .limit(1)
        )


def test_printed_minutes_keep_the_participants_and_lose_the_buttons(page, world):
    meeting_id = _meeting_with_final_minutes(world)
    login(page, world)
    page.goto(f"/meetings/{meeting_id}")
    pdf = page.locator("#minutes-pdf")
    assert pdf.is_visible()
    with page.expect_download() as download:
        pdf.click()
    assert download.value.suggested_filename.endswith(".pdf")
    participants = page.locator("section[aria-labelledby=participants-title] label")
    assert participants.count() > 0

    page.emulate_media(media="print")

    assert participants.first.is_visible()
    assert page.locator("#final-summary").is_visible()
    visible_buttons = [b for b in page.locator("button").all() if b.is_visible()]
    assert visible_buttons == []
    assert not page.locator("nav.mainnav").is_visible()
