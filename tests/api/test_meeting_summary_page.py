"""The municipality feed's page is written out by hand: it must stay what its documented schema
says, and a cursor that is not a feed position is the caller's error."""

from __future__ import annotations

import base64
import json

import pytest

from bridge.api.meeting_summaries import MeetingSummaryPageSchema, summary_page_json
from bridge.domain.meetings import summary_feed
from tests.support.meetings import final_minutes, finalise

FEED = "/api/v1/municipalities/9804/meeting-summaries"


@pytest.fixture
def feed(make_org, make_actor, make_patient):
    """A municipality of its own with one citizen who consented, its actor and the nurse."""
    nurse = make_actor("nurse")
    muni = make_org("municipality", municipality_code="9804", name="Prøve Kommune")
    actor = make_actor("municipality", organisation=muni)
    patient = make_patient(nurse=nurse, municipality_id=muni.id)
    r = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_organisation_id": muni.id, "scope": "all"},
    )
    assert r.status_code == 201, r.json
    return muni, actor, nurse, patient


def test_the_written_page_is_what_the_documented_schema_dumps(session, feed):
    muni, actor, nurse, patient = feed
    items = [
        {
            "description": "Bostøtte",
            "responsible_organisation_id": muni.id,
            "due_date": "2030-01-31",
        },
        {"description": "Samtale", "person": "Kontaktperson"},
    ]
    meeting, _ = final_minutes(nurse, patient.id, action_items=items)
    nurse.post(f"/api/v1/meetings/{meeting['id']}/minutes/amendments", json={"reason": "rettelse"})
    amended = finalise(nurse, meeting["id"], 2)
    mine = amended["action_items"][0]["id"]
    r = actor.patch(f"/api/v1/action-items/{mine}", json={"status": "done"})
    assert r.status_code == 200, r.json
    final_minutes(nurse, patient.id)

    first = actor.get(FEED, query_string={"limit": 1})
    assert first.status_code == 200, first.json
    page = summary_feed.meeting_summaries(
        session, actor.principal(session), "9804", cursor=None, limit=50
    )
    written = summary_page_json(page)
    assert written == MeetingSummaryPageSchema().dump(page)
    assert len(written["items"]) == 2
    summary = written["items"][0]
    assert summary["amendment_reason"] == "rettelse"
    assert [i["status"] for i in summary["action_items"]] == ["done", "open"]
    assert summary["action_items"][0]["done_at"][-6:] in ("+01:00", "+02:00")
    assert summary["action_items"][0]["due_date"] == "2030-01-31"
    assert summary["patient"]["cpr_masked"].endswith("-xxxx")
    # The first read delivered the first summary; this one delivered the second.
    assert [s["distribution"]["status"] for s in written["items"]] == ["delivered", "delivered"]
    assert first.json["items"] == [
        {**written["items"][0], "distribution": first.json["items"][0]["distribution"]}
    ]


@pytest.mark.parametrize("position", [["a", "b"], [1.5, 2], [True, 1], [2**70, 1], [1, None]])
def test_a_cursor_that_is_not_a_feed_position_is_refused(feed, position):
    _, actor, _, _ = feed
    cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
    r = actor.get(FEED, query_string={"cursor": cursor})
    assert r.status_code == 422, r.json
    assert "cursor" in r.json["errors"]
