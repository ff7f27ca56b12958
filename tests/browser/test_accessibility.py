"""Issue 18, item 7: every page a nurse uses, at desktop and phone size, has no critical or
serious axe-core violation and, on a phone (390 px), nothing that scrolls sideways."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bridge.domain.care.models import Admission
from bridge.domain.meetings.models import MinutesStatus, MinutesVersion, NetworkMeeting
from bridge.domain.registry.models import Staff
from bridge.extensions import db
from tests.support.axe import serious_violations, with_axe
from tests.support.browser import login

pytestmark = pytest.mark.browser


def _pages(world) -> list[str]:
    with world.app.app_context():
        anna = db.session.scalar(select(Staff.id).where(Staff.email == world.anna_email))
        meeting = db.session.scalar(
            select(NetworkMeeting.id)
            .join(MinutesVersion, MinutesVersion.meeting_id == NetworkMeeting.id)
            .where(
                MinutesVersion.status == MinutesStatus.FINAL, NetworkMeeting.organiser_id == anna
            )
            .limit(1)
        )
        admission = db.session.scalar(
            select(Admission.id).where(Admission.patient_id == world.anna_patient_id).limit(1)
        )
    pages = [
        "/today",
        "/caseload",
        "/flags",
        "/calendar",
        f"/patients/{world.anna_patient_id}",
        f"/patients/{world.anna_patient_id}/meetings/new",
        f"/patients/{world.anna_patient_id}/record/gp?q=la",
        f"/patients/{world.anna_patient_id}/record/consent",
        f"/patients/{world.anna_patient_id}/record/relative",
        f"/patients/{world.anna_patient_id}/record/screening",
        f"/meetings/{meeting}",
    ]
    if admission:
        pages.append(f"/admissions/{admission}")
    return pages


@pytest.mark.parametrize("width", [1280, 390])
def test_no_serious_accessibility_violations_and_no_sideways_scroll(page, world, width):
    with_axe(page)
    page.set_viewport_size({"width": width, "height": 900})
    found: dict[str, list[str]] = {}
    sideways: dict[str, int] = {}
    for url in ["/login", *_pages(world)]:
        if url != "/login" and "login" in page.url:
            login(page, world)
        page.goto(url)
        violations = serious_violations(page)
        if violations:
            found[url] = violations
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if width == 390 and overflow > 0:
            sideways[url] = overflow
    assert found == {}
    assert sideways == {}
