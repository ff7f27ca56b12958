"""Issue 18, item 4: the flags worklist: compact rows (handling folded away), filters by rule,
patient and age, grouping, bulk acknowledge and snooze, and a rejected form keeps her input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bridge.domain.base import utcnow
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag, FlagStatus


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


@pytest.fixture
def flagged(nurse, make_patient, session):
    """Three patients without a GP practice: one flag each."""
    patients = [
        make_patient(nurse=nurse.actor, gp_practice_id=None, name=name)
        for name in ("Karen Holm", "Bo Jensen", "Ida Lund")
    ]
    run_gap_scan(session, utcnow(), rules=["patient_without_gp"])
    session.commit()
    return patients


def _flag_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="flag-(\d+)"', html)]


def test_rows_are_compact_and_filters_narrow_the_list(nurse, flagged, session):
    page = nurse.client.get("/flags").get_data(as_text=True)
    assert len(_flag_ids(page)) == 3
    # Handling is folded away: one summary per row, no open form fields in the list itself.
    assert page.count('<details class="flag-handle">') == 3
    assert page.count('type="checkbox" name="flag"') == 3
    karen = flagged[0]
    only_karen = nurse.client.get(f"/flags?patient={karen.id}").get_data(as_text=True)
    assert len(_flag_ids(only_karen)) == 1 and "Karen Holm" in only_karen
    by_rule = nurse.client.get("/flags?rule=patient_without_gp").get_data(as_text=True)
    assert len(_flag_ids(by_rule)) == 3
    assert _flag_ids(nurse.client.get("/flags?rule=minutes_not_final").get_data(as_text=True)) == []
    # Found just now: none has been open for more than 7 days.
    assert _flag_ids(nurse.client.get("/flags?age=7").get_data(as_text=True)) == []
    grouped = nurse.client.get("/flags?group=patient").get_data(as_text=True)
    assert grouped.count('class="flag-group-title"') == 3


def test_bulk_acknowledge_and_snooze(nurse, flagged, session):
    ids = sorted(session.scalars(select(Flag.id)))
    acked = nurse.post(
        "/flags/bulk", {"action": "acknowledge", "flag": ids[:2]}, token_from="/flags"
    )
    assert acked.status_code == 303
    session.expire_all()
    statuses = {f.id: f.status for f in session.scalars(select(Flag))}
    assert [statuses[i] for i in ids] == [
        FlagStatus.ACKNOWLEDGED,
        FlagStatus.ACKNOWLEDGED,
        FlagStatus.OPEN,
    ]
    day = (utcnow() + timedelta(days=3)).date().isoformat()
    snoozed = nurse.post(
        "/flags/bulk?group=patient",
        {"action": "snooze", "flag": ids, "bulk-until": day},
        token_from="/flags",
    )
    assert snoozed.status_code == 303 and snoozed.headers["Location"].endswith("?group=patient")
    session.expire_all()
    assert {f.status for f in session.scalars(select(Flag))} == {FlagStatus.SNOOZED}


def test_a_rejected_bulk_or_row_form_says_why_and_keeps_her_input(nurse, flagged, session):
    nothing = nurse.post("/flags/bulk", {"action": "acknowledge"}, token_from="/flags")
    assert nothing.status_code == 422
    assert "Sæt flueben ved markeringerne først." in nothing.get_data(as_text=True)
    flag_id = session.scalars(select(Flag.id)).first()
    no_date = nurse.post(
        f"/flags/{flag_id}",
        {"action": "snooze", f"note-{flag_id}": "Ringer mandag"},
        token_from="/flags",
    )
    assert no_date.status_code == 422
    html = no_date.get_data(as_text=True)
    assert 'value="Ringer mandag"' in html
    assert '<details class="flag-handle" open>' in html
    session.expire_all()
    assert session.get(Flag, flag_id).status == FlagStatus.OPEN
