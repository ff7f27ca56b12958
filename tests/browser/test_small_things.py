"""Issue 18's small things in a real browser: the follow-up plan's check boxes tick a task off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bridge.domain.access import load_principal
from bridge.domain.base import utcnow
from bridge.domain.care import follow_ups as follow_ups_service
from bridge.domain.care.models import Admission, Destination
from bridge.domain.registry.models import Organisation, OrganisationKind, Specialty, Staff
from bridge.extensions import db
from tests.support.browser import login

pytestmark = pytest.mark.browser


def _stay_with_plan(world) -> tuple[int, int, str]:
    with world.app.app_context():
        ward = db.session.scalar(
            select(Organisation.id)
            .where(Organisation.kind == OrganisationKind.HOSPITAL_DEPARTMENT)
            .limit(1)
        )
        now = utcnow()
        admission = Admission(
            patient_id=world.anna_patient_id, department_id=ward, specialty=Specialty.PSYCHIATRY,
            acute=True, admitted_at=now - timedelta(days=8), discharged_at=now - timedelta(days=3),
            destination=Destination.HOME,
        )  # fmt: skip
        db.session.add(admission)
        db.session.flush()
        nurse = db.session.scalar(select(Staff).where(Staff.email == world.anna_email))
        tasks = follow_ups_service.plan_follow_up(
            db.session, load_principal(db.session, nurse), admission
        )
        facts = (admission.id, tasks[0].id, tasks[0].title)
        db.session.commit()
        db.session.remove()
    return facts


@pytest.mark.parametrize("width", [1280, 390])
def test_clicking_a_follow_up_check_box_ticks_the_task_off(page, world, width):
    admission_id, task_id, title = _stay_with_plan(world)
    page.set_viewport_size({"width": width, "height": 900})
    login(page, world)
    page.wait_for_url("**/today")
    page.goto(f"/admissions/{admission_id}")
    box = page.get_by_role("button", name=f"Afkryds {title}", exact=True)
    assert box.count() == 1
    box.click()
    page.wait_for_load_state()
    assert "status-done" in page.locator(f"#task-{task_id}").get_attribute("class")
    assert page.locator(f"#task-{task_id} .check-box").inner_text().strip() == "✓"
