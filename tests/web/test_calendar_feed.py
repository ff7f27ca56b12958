"""Her calendar: a personal iCal feed of her network meetings at a revocable secret URL, and an
.ics file per meeting. No CPR number and no diagnosis ever leave in it."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bridge.domain.audit import AuditEvent
from bridge.domain.patients.models import Diagnosis
from tests.support.meetings import org_participant, plan_meeting

_URL_RE = re.compile(
    r'id="feed-url" type="text" readonly value="http://localhost(/calendar/[^"]+\.ics)"'
)


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


def _issue(user) -> str:
    r = user.post("/calendar/feed", token_from="/calendar")
    assert r.status_code == 200
    match = _URL_RE.search(r.get_data(as_text=True))
    assert match, "the new address is shown once"
    return match.group(1)


def _events(body: bytes) -> list:
    return [c for c in Calendar.from_ical(body).walk() if c.name == "VEVENT"]


def test_the_feed_lists_her_meetings_without_cpr_or_diagnosis(
    nurse, make_patient, make_org, session
):
    ward = make_org("hospital_department", name="Afsnit P3")
    patient = make_patient(nurse=nurse.actor, name="Hanne Marie Andersen")
    session.add(Diagnosis(patient_id=patient.id, code="DF200", psychiatric=True,
                          description="Paranoid skizofreni"))  # fmt: skip
    session.commit()
    planned = plan_meeting(nurse.actor, patient.id, [org_participant(ward.id)])
    cancelled = plan_meeting(nurse.actor, patient.id)
    r = nurse.actor.post(f"/api/v1/meetings/{cancelled['id']}/cancel", json={"reason": "sygdom"})
    assert r.status_code == 200, r.json

    url = _issue(nurse)
    feed = nurse.client.__class__(nurse.client.application)  # a calendar app: no session
    r = feed.get(url)
    assert r.status_code == 200
    assert r.mimetype == "text/calendar"
    body = r.get_data()
    events = {str(e["uid"]): e for e in _events(body)}
    first = next(
        e for uid, e in events.items() if uid.startswith(f"network-meeting-{planned['id']}@")
    )
    assert "H.M.A." in str(first["summary"])
    assert str(first["location"]) == "Psykiatrisk Center"
    assert "Afsnit P3" in str(first["description"])
    assert str(first["status"]) == "CONFIRMED"
    start = datetime.fromisoformat(planned["scheduled_start"]).replace(microsecond=0)
    assert first.decoded("dtstart") == start
    other = next(
        e for uid, e in events.items() if uid.startswith(f"network-meeting-{cancelled['id']}@")
    )
    assert str(other["status"]) == "CANCELLED"
    text = body.decode()
    for secret in (patient.cpr, patient.cpr[:6], "DF200", "skizofreni", "Hanne", "Andersen"):
        assert secret not in text
    # One access event for the patient for the whole read.
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.patient_id == patient.id,
                                 AuditEvent.resource_type == "calendar_feed")
    ).all()  # fmt: skip
    assert len(rows) == 1 and rows[0].staff_id == nurse.id


def test_a_revoked_address_answers_404_and_a_rotated_one_works(nurse, make_patient):
    patient = make_patient(nurse=nurse.actor)
    plan_meeting(nurse.actor, patient.id)
    old = _issue(nurse)
    new = _issue(nurse)
    assert old != new
    assert nurse.client.get(old).status_code == 404
    r = nurse.client.get(new)
    assert r.status_code == 200 and len(_events(r.get_data())) == 1
    page = nurse.post("/calendar/feed/revoke", token_from="/calendar")
    assert page.status_code == 200
    assert nurse.client.get(new).status_code == 404
    assert nurse.client.get("/calendar/not-a-secret.ics").status_code == 404


def test_another_nurses_meetings_are_not_in_her_feed(nurse, make_web_user, make_patient):
    other = make_web_user()
    theirs = make_patient(nurse=other.actor)
    mine = make_patient(nurse=nurse.actor)
    their_meeting = plan_meeting(other.actor, theirs.id)
    my_meeting = plan_meeting(nurse.actor, mine.id)
    r = nurse.client.get(_issue(nurse))
    uids = [str(e["uid"]) for e in _events(r.get_data())]
    assert any(u.startswith(f"network-meeting-{my_meeting['id']}@") for u in uids)
    assert not any(u.startswith(f"network-meeting-{their_meeting['id']}@") for u in uids)


def test_the_feed_costs_the_same_number_of_queries_for_more_meetings(
    nurse, make_patient, make_org, count_queries
):
    patient = make_patient(nurse=nurse.actor)
    ward = make_org("hospital_department")
    plan_meeting(nurse.actor, patient.id, [org_participant(ward.id)])
    url = _issue(nurse)
    with count_queries() as one:
        assert nurse.client.get(url).status_code == 200
    for _ in range(3):
        other = make_patient(nurse=nurse.actor)
        plan_meeting(nurse.actor, other.id, [org_participant(ward.id)])
    with count_queries() as four:
        assert len(_events(nurse.client.get(url).get_data())) == 4
    assert four.count == one.count


def test_a_meeting_downloads_as_an_ics_invitation(nurse, make_web_user, make_patient):
    patient = make_patient(nurse=nurse.actor, name="Ole Berg")
    meeting = plan_meeting(nurse.actor, patient.id)
    page = nurse.client.get(f"/meetings/{meeting['id']}").get_data(as_text=True)
    assert f"/meetings/{meeting['id']}/calendar.ics" in page
    r = nurse.client.get(f"/meetings/{meeting['id']}/calendar.ics")
    assert r.status_code == 200
    assert "attachment" in r.headers["Content-Disposition"]
    [event] = _events(r.get_data())
    assert "O.B." in str(event["summary"]) and patient.cpr not in r.get_data(as_text=True)
    stranger = make_web_user()
    stranger.login()
    assert stranger.client.get(f"/meetings/{meeting['id']}/calendar.ics").status_code == 404


def test_today_links_to_her_calendar_address(nurse):
    page = nurse.client.get("/today").get_data(as_text=True)
    assert 'id="calendar-link"' in page
    assert "Kalender" in page
