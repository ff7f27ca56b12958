""" "Finalise and send" works on minutes never saved as a draft: save and finalise in one step."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bridge.domain.meetings.models import MinutesStatus, MinutesVersion
from tests.support.meetings import held_meeting


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


def test_finalise_and_send_is_offered_and_works_without_a_draft(nurse, make_patient, session):
    patient = make_patient(nurse=nurse.actor)
    meeting = held_meeting(nurse.actor, patient.id)
    url = f"/meetings/{meeting['id']}"
    page = nurse.client.get(url).get_data(as_text=True)
    form = page.split('id="minutes-form"')[1].split("</form>")[0]
    assert 'name="do" value="finalise"' in form
    r = nurse.post(f"{url}/minutes", {"summary": "Plan aftalt", "version": "0", "do": "finalise"},
                   token_from=url)  # fmt: skip
    assert r.status_code == 303 and "done=final" in r.headers["Location"]
    versions = session.scalars(
        select(MinutesVersion).where(MinutesVersion.meeting_id == meeting["id"])
    ).all()
    assert [(v.version_no, v.status) for v in versions] == [(1, MinutesStatus.FINAL)]
    assert 'data-role="gp"' in nurse.client.get(url).get_data(as_text=True)


def test_a_refused_one_step_finalise_keeps_the_text_and_leaves_no_draft(
    nurse, make_patient, session
):
    patient = make_patient(nurse=nurse.actor)
    meeting = held_meeting(nurse.actor, patient.id)
    url = f"/meetings/{meeting['id']}"
    r = nurse.post(f"{url}/minutes", {"summary": "", "decisions": "Mine beslutninger",
                   "version": "0", "do": "finalise"}, token_from=url)  # fmt: skip
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "Mine beslutninger" in body  # what she wrote is still in the form
    assert "Et endeligt referat skal have et resumé." in body
    count = session.scalar(
        select(func.count())
        .select_from(MinutesVersion)
        .where(MinutesVersion.meeting_id == meeting["id"])
    )
    assert count == 0
