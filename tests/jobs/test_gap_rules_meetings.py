"""Gap rules about network meetings and their minutes: each raises on a real gap, stays quiet
just inside its threshold, and resolves by itself once the gap is closed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN, DEFAULT_CALENDAR
from bridge.domain.meetings.models import Distribution, DistributionStatus
from bridge.domain.patients.models import Enrollment
from tests.support.gaps import MINUTE, live, resolved, scan
from tests.support.meetings import (
    distributions,
    draft_minutes,
    final_minutes,
    finalise,
    held_meeting,
    iso,
    past_slot,
    plan_meeting,
)


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def gp_org(make_org):
    return make_org("gp_practice")


@pytest.fixture
def patient(make_patient, nurse, gp_org):
    return make_patient(nurse=nurse, gp=gp_org)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def gp_row(nurse, meeting_id: int, gp_org) -> dict:
    (row,) = [r for r in distributions(nurse, meeting_id) if r["recipient_role"] == "gp"]
    assert row["recipient_organisation_id"] == gp_org.id
    return row


def amend_and_finalise(nurse, meeting_id: int, version_no: int) -> dict:
    r = nurse.post(f"/api/v1/meetings/{meeting_id}/minutes/amendments", json={"reason": "rettet"})
    assert r.status_code == 201, r.json
    return finalise(nurse, meeting_id, version_no)


# --- gp_minutes_not_received --------------------------------------------------------------------


def test_gp_minutes_flagged_after_two_working_days_and_resolved_when_the_gp_acknowledges(
    session, nurse, patient, gp_org, make_actor
):
    meeting, minutes = final_minutes(nurse, patient.id)
    deadline = DEFAULT_CALENDAR.deadline_after(at(minutes["finalised_at"]), 2)
    rule = "gp_minutes_not_received"

    assert scan(session, rule, deadline - MINUTE)["opened"] == 0  # just inside: not yet due
    assert scan(session, rule, deadline)["opened"] == 1
    (flag,) = live(session, rule, minutes["id"])
    assert (flag.patient_id, flag.subject_type, flag.severity) == (
        patient.id,
        "minutes_version",
        3,
    )

    gp = make_actor("gp", organisation=gp_org)
    row = gp_row(nurse, meeting["id"], gp_org)
    assert gp.post(f"/api/v1/distributions/{row['id']}/ack").status_code == 200
    assert scan(session, rule, deadline + MINUTE)["resolved"] == 1
    assert live(session, rule, minutes["id"]) == []


def test_gp_minutes_flagged_at_once_when_the_gp_distribution_is_blocked(
    session, nurse, patient, gp_org
):
    meeting, minutes = final_minutes(nurse, patient.id)
    rule = "gp_minutes_not_received"
    assert scan(session, rule)["opened"] == 0  # pending, and within the two working days
    # The distribution rule never blocks the GP (treating health care); should a row be
    # blocked anyway, the GP has not got the minutes and that shows without waiting.
    dist = session.get(Distribution, gp_row(nurse, meeting["id"], gp_org)["id"])
    dist.status, dist.blocked_reason, dist.legal_basis = (
        DistributionStatus.BLOCKED,
        "blocked for the test",
        None,
    )
    session.commit()
    assert scan(session, rule)["opened"] == 1
    assert live(session, rule, minutes["id"])[0].patient_id == patient.id


def test_gp_minutes_flagged_for_a_patient_without_gp_until_amended_minutes_reach_a_gp(
    session, nurse, make_patient, gp_org
):
    patient = make_patient(nurse=nurse, gp_practice_id=None)
    meeting, v1 = final_minutes(nurse, patient.id)
    rows = distributions(nurse, meeting["id"])
    assert rows  # the minutes went somewhere, only not to a GP
    assert all(r["recipient_role"] != "gp" for r in rows)
    rule = "gp_minutes_not_received"
    assert scan(session, rule)["opened"] == 1
    assert live(session, rule, v1["id"])[0].patient_id == patient.id

    patient.gp_practice_id = gp_org.id
    session.commit()
    v2 = amend_and_finalise(nurse, meeting["id"], 2)
    outcome = scan(session, rule)
    # v1 is no longer in force; v2 went to the GP and is within its two working days.
    assert (outcome["opened"], outcome["resolved"]) == (0, 1)
    assert resolved(session, rule, v1["id"]) and live(session, rule, v2["id"]) == []


# --- minutes_not_finalised ----------------------------------------------------------------------


def test_minutes_not_finalised_three_working_days_after_the_meeting(session, nurse, patient):
    meeting = held_meeting(nurse, patient.id)
    draft_minutes(nurse, meeting["id"])
    unwritten = held_meeting(nurse, patient.id)  # no minutes at all
    deadline = DEFAULT_CALENDAR.deadline_after(at(meeting["held_at"]), 3)
    rule = "minutes_not_finalised"

    assert scan(session, rule, deadline - MINUTE)["opened"] == 0
    assert scan(session, rule, deadline + MINUTE)["opened"] == 2
    assert [f.subject_id for f in live(session, rule)] == sorted([meeting["id"], unwritten["id"]])

    finalise(nurse, meeting["id"])
    assert scan(session, rule, deadline + 2 * MINUTE)["resolved"] == 1
    assert resolved(session, rule, meeting["id"])
    assert live(session, rule, unwritten["id"])


# --- action_item_overdue ------------------------------------------------------------------------


def test_action_item_overdue_the_day_after_its_due_date_until_done(
    session, nurse, patient, municipality
):
    due = utcnow().astimezone(COPENHAGEN).date()
    _meeting, minutes = final_minutes(
        nurse,
        patient.id,
        action_items=[
            {"description": "Bestil blodprøver", "due_date": due.isoformat()},
            {"description": "Ingen frist"},
        ],
    )
    item_id = minutes["action_items"][0]["id"]
    end_of_due_day = datetime(due.year, due.month, due.day, 23, 59, tzinfo=COPENHAGEN)
    rule = "action_item_overdue"

    assert scan(session, rule, end_of_due_day)["opened"] == 0  # due today: not yet overdue
    assert scan(session, rule, end_of_due_day + 2 * MINUTE)["opened"] == 1
    assert live(session, rule, item_id)[0].patient_id == patient.id

    r = nurse.patch(f"/api/v1/action-items/{item_id}", json={"status": "done"})
    assert r.status_code == 200, r.json
    assert scan(session, rule, end_of_due_day + 3 * MINUTE)["resolved"] == 1


def test_action_item_of_amended_minutes_counts_only_on_the_latest_version(session, nurse, patient):
    due = utcnow().astimezone(COPENHAGEN).date()
    meeting, v1 = final_minutes(
        nurse, patient.id, action_items=[{"description": "Ring til borgeren", "due_date": str(due)}]
    )
    later = utcnow() + timedelta(days=2)
    scan(session, "action_item_overdue", later)
    v2 = amend_and_finalise(nurse, meeting["id"], 2)
    outcome = scan(session, "action_item_overdue", later)
    # The item was carried over: the flag moves from v1's item to v2's.
    assert (outcome["opened"], outcome["resolved"]) == (1, 1)
    assert live(session, "action_item_overdue", v2["action_items"][0]["id"])
    assert resolved(session, "action_item_overdue", v1["action_items"][0]["id"])


# --- no_recent_network_meeting ------------------------------------------------------------------


def _start_course(session, patient, days_ago: int) -> Enrollment:
    enrollment = session.query(Enrollment).filter_by(patient_id=patient.id).one()
    enrollment.start_date = utcnow().astimezone(COPENHAGEN).date() - timedelta(days=days_ago)
    session.commit()
    return enrollment


def test_no_recent_network_meeting_after_90_days_of_course(session, nurse, patient, make_patient):
    course = _start_course(session, patient, 91)
    just_inside = _start_course(session, make_patient(nurse=nurse), 90)
    rule = "no_recent_network_meeting"
    assert scan(session, rule)["opened"] == 1
    (flag,) = live(session, rule)
    assert (flag.subject_type, flag.subject_id, flag.patient_id) == (
        "enrollment",
        course.id,
        patient.id,
    )
    assert live(session, rule, just_inside.id) == []

    meeting = plan_meeting(nurse, patient.id)  # a planned meeting closes the gap
    assert scan(session, rule)["resolved"] == 1
    r = nurse.post(f"/api/v1/meetings/{meeting['id']}/hold", json={})
    held_at = at(r.json["held_at"])
    scan(session, rule, held_at + timedelta(days=90) - MINUTE)
    assert live(session, rule, course.id) == []  # held just inside 90 days ago
    scan(session, rule, held_at + timedelta(days=90) + MINUTE)
    assert live(session, rule, course.id)


# --- distribution_blocked_by_consent ------------------------------------------------------------


def test_distribution_blocked_by_consent_until_amended_minutes_go_with_consent(
    session, nurse, patient, municipality
):
    kbh = municipality("0101")
    meeting, _v1 = final_minutes(nurse, patient.id)
    rows = distributions(nurse, meeting["id"])
    (blocked,) = [r for r in rows if r["status"] == "blocked"]
    assert blocked["recipient_organisation_id"] == kbh.id
    rule = "distribution_blocked_by_consent"
    assert scan(session, rule)["opened"] == 1  # only the blocked recipient, not the others
    (flag,) = live(session, rule)
    assert (flag.subject_type, flag.subject_id, flag.patient_id) == (
        "distribution",
        blocked["id"],
        patient.id,
    )

    r = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "municipality", "scope": "minutes"},
    )
    assert r.status_code == 201, r.json
    amend_and_finalise(nurse, meeting["id"], 2)
    outcome = scan(session, rule)
    assert (outcome["opened"], outcome["resolved"]) == (0, 1)


# --- meeting_request_not_scheduled --------------------------------------------------------------


def _request(nurse, patient, requested_at: datetime, at_discharge: bool = False) -> dict:
    r = nurse.post(
        "/api/v1/meetings",
        json={
            "patient_id": patient.id,
            "requested_by": {
                "kind": "relative" if not at_discharge else "hospital",
                "person": "Mor",
                "requested_at": iso(requested_at),
                "at_discharge": at_discharge,
            },
        },
    )
    assert r.status_code == 201, r.json
    return r.json


def test_meeting_request_not_held_within_five_working_days(session, nurse, patient):
    requested_at = utcnow() - timedelta(hours=1)
    meeting = _request(nurse, patient, requested_at)
    assert meeting["hold_by"] is None
    deadline = DEFAULT_CALENDAR.deadline_after(requested_at, 5)
    rule = "meeting_request_not_scheduled"

    assert scan(session, rule, deadline - MINUTE)["opened"] == 0
    assert scan(session, rule, deadline + MINUTE)["opened"] == 1
    # Planning it is not enough: the meeting has to be held.
    assert nurse.post(f"/api/v1/meetings/{meeting['id']}/plan", json=past_slot()).status_code == 200
    assert scan(session, rule, deadline + 2 * MINUTE)["still_open"] == 1
    assert nurse.post(f"/api/v1/meetings/{meeting['id']}/hold", json={}).status_code == 200
    assert scan(session, rule, deadline + 3 * MINUTE)["resolved"] == 1


def test_meeting_requested_at_discharge_is_due_by_its_hold_by(session, nurse, patient):
    meeting = _request(nurse, patient, utcnow() - timedelta(hours=1), at_discharge=True)
    hold_by = at(meeting["hold_by"])
    rule = "meeting_request_not_scheduled"
    assert scan(session, rule, hold_by)["opened"] == 0
    assert scan(session, rule, hold_by + MINUTE)["opened"] == 1
    assert live(session, rule, meeting["id"])[0].patient_id == patient.id
    r = nurse.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={"reason": "ønsket trukket"})
    assert r.status_code == 200
    assert scan(session, rule, hold_by + 2 * MINUTE)["resolved"] == 1
