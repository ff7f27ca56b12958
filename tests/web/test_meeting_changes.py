"""Issue 18, item 5: from the meeting page she moves or cancels a meeting not yet held and starts
a correction of final minutes; refused forms say why in Danish and keep what she wrote."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bridge.domain.calendar import COPENHAGEN
from bridge.domain.meetings.models import MinutesStatus, MinutesVersion, NetworkMeeting
from tests.support.meetings import final_minutes, plan_meeting


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


def test_she_moves_and_then_cancels_a_planned_meeting(nurse, make_patient, session):
    patient = make_patient(nurse=nurse.actor)
    meeting = plan_meeting(nurse.actor, patient.id)
    url = f"/meetings/{meeting['id']}"
    page = nurse.client.get(url).get_data(as_text=True)
    assert "Flyt mødet" in page and "Aflys mødet" in page

    moved = nurse.post(
        f"{url}/reschedule",
        {"date": "2026-12-14", "start": "09:00", "end": "10:30", "place": "Kommunens hus"},
        token_from=url,
    )
    backwards = nurse.post(
        f"{url}/reschedule",
        {"date": "2026-12-14", "start": "11:00", "end": "10:00", "place": "X"},
        token_from=url,
    )
    no_reason = nurse.post(f"{url}/cancel", {"cancel_reason": ""}, token_from=url)

    assert moved.status_code == 303
    session.expire_all()
    row = session.get(NetworkMeeting, meeting["id"])
    assert row.scheduled_start == datetime(2026, 12, 14, 9, 0, tzinfo=COPENHAGEN)
    assert row.place == "Kommunens hus"
    assert backwards.status_code == 422
    assert "Mødet skal slutte, efter det er begyndt." in backwards.get_data(as_text=True)
    assert 'value="11:00"' in backwards.get_data(as_text=True)
    assert no_reason.status_code == 422
    assert "Skriv, hvorfor mødet aflyses." in no_reason.get_data(as_text=True)
    cancelled = nurse.post(
        f"{url}/cancel", {"cancel_reason": "Borgeren er indlagt"}, token_from=url
    )
    assert cancelled.status_code == 303
    session.expire_all()
    assert session.get(NetworkMeeting, meeting["id"]).status == "cancelled"
    assert "Mødet er aflyst: Borgeren er indlagt" in nurse.client.get(url).get_data(as_text=True)


def test_she_starts_a_correction_of_final_minutes(nurse, make_patient, session):
    patient = make_patient(nurse=nurse.actor)
    meeting, _minutes = final_minutes(nurse.actor, patient.id)
    url = f"/meetings/{meeting['id']}"
    assert "Ret det endelige referat" in nurse.client.get(url).get_data(as_text=True)

    refused = nurse.post(f"{url}/amend", {"amendment_reason": ""}, token_from=url)
    started = nurse.post(f"{url}/amend", {"amendment_reason": "Forkert dato"}, token_from=url)

    assert refused.status_code == 422
    assert "Skriv, hvorfor referatet rettes." in refused.get_data(as_text=True)
    assert started.status_code == 303
    versions = session.scalars(
        select(MinutesVersion)
        .where(MinutesVersion.meeting_id == meeting["id"])
        .order_by(MinutesVersion.version_no)
    ).all()
    assert [(v.version_no, v.status) for v in versions] == [
        (1, MinutesStatus.FINAL),
        (2, MinutesStatus.DRAFT),
    ]
    assert versions[1].amendment_reason == "Forkert dato"
    assert 'id="minutes-form"' in nurse.client.get(url).get_data(as_text=True)
