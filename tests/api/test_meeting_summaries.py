"""Municipalities pull meeting summaries; recipients mark action items done."""

from __future__ import annotations

import pytest

from tests.support.meetings import (
    distributions,
    draft_minutes,
    final_minutes,
    finalise,
    held_meeting,
    org_participant,
)

FEED = "/api/v1/municipalities/{code}/meeting-summaries"


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def gp_org(make_org):
    return make_org("gp_practice")


@pytest.fixture
def kbh_actor(make_actor, municipality):
    return make_actor("municipality", organisation=municipality("0101"))


@pytest.fixture
def consenting_patient(make_patient, nurse, gp_org):
    """A citizen of Copenhagen who consented to minutes going to the municipality."""

    def make(municipality_code: str = "0101"):
        patient = make_patient(nurse=nurse, gp=gp_org, municipality_code=municipality_code)
        r = nurse.post(
            f"/api/v1/patients/{patient.id}/consents",
            json={"recipient_kind": "municipality", "scope": "minutes"},
        )
        assert r.status_code == 201, r.json
        return patient

    return make


def pull_all(actor, code: str = "0101", limit: int = 50, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        r = actor.get(FEED.format(code=code), query_string=query)
        assert r.status_code == 200, r.json
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        if not r.json["has_more"]:
            return items


def test_municipality_pulls_final_minutes_with_its_items_marked(
    nurse, kbh_actor, consenting_patient, gp_org, municipality
):
    kbh = municipality("0101")
    patient = consenting_patient()
    meeting, minutes = final_minutes(
        nurse,
        patient.id,
        action_items=[
            {"description": "Bostøtte", "responsible_organisation_id": kbh.id},
            {"description": "Blodprøver", "responsible_organisation_id": gp_org.id},
        ],
    )
    [summary] = [s for s in pull_all(kbh_actor) if s["meeting_id"] == meeting["id"]]
    assert summary["id"] == minutes["id"]
    assert summary["version_no"] == 1
    assert summary["decisions"] == minutes["decisions"]
    assert summary["patient"]["id"] == patient.id
    assert summary["meeting_start"]
    assert [(i["description"], i["assigned_to_you"]) for i in summary["action_items"]] == [
        ("Bostøtte", True),
        ("Blodprøver", False),
    ]
    assert summary["distribution"]["status"] == "delivered"
    row = [
        r for r in distributions(nurse, meeting["id"]) if r["recipient_organisation_id"] == kbh.id
    ]
    assert row[0]["status"] == "delivered"
    assert row[0]["delivered_at"]

    r = kbh_actor.post(f"/api/v1/meeting-summaries/{summary['id']}/ack")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "acknowledged"
    # Fetching again does not undo the acknowledgement.
    pull_all(kbh_actor)
    row = [
        r for r in distributions(nurse, meeting["id"]) if r["recipient_organisation_id"] == kbh.id
    ]
    assert row[0]["status"] == "acknowledged"


def test_drafts_and_blocked_summaries_are_not_in_the_feed(nurse, kbh_actor, make_patient, gp_org):
    no_consent = make_patient(nurse=nurse, gp=gp_org)
    _, minutes = final_minutes(nurse, no_consent.id)
    draft_meeting = held_meeting(nurse, no_consent.id)
    draft_minutes(nurse, draft_meeting["id"])
    summaries = pull_all(kbh_actor)
    assert minutes["id"] not in {s["id"] for s in summaries}
    assert draft_meeting["id"] not in {s["meeting_id"] for s in summaries}
    assert kbh_actor.post(f"/api/v1/meeting-summaries/{minutes['id']}/ack").status_code == 404


def test_a_municipality_never_sees_another_municipalitys_citizens(
    nurse, kbh_actor, consenting_patient, make_actor, municipality
):
    frb_patient = consenting_patient("0147")
    kbh = municipality("0101")
    _, minutes = final_minutes(nurse, frb_patient.id, [org_participant(kbh.id)])
    kbh_row = [
        r
        for r in distributions(nurse, minutes["meeting_id"])
        if r["recipient_organisation_id"] == kbh.id
    ]
    assert kbh_row[0]["status"] == "sent"
    # Even a municipality that took part in the meeting sees only its own citizens.
    assert minutes["id"] not in {s["id"] for s in pull_all(kbh_actor)}
    assert kbh_actor.get(FEED.format(code="0147")).status_code == 404
    assert kbh_actor.get(FEED.format(code="147")).status_code == 404
    assert kbh_actor.post(f"/api/v1/meeting-summaries/{minutes['id']}/ack").status_code == 404

    frb_actor = make_actor("municipality", organisation=municipality("0147"))
    assert minutes["id"] in {s["id"] for s in pull_all(frb_actor, code="147")}


def test_only_municipalities_pull_summaries(nurse, make_actor):
    assert nurse.get(FEED.format(code="0101")).status_code == 403


@pytest.fixture
def fresh_municipality(make_org, make_actor, make_patient, nurse, gp_org):
    """A municipality of its own (no other test's citizens), its actor and a citizen factory."""
    muni = make_org("municipality", municipality_code="9803", name="Ny Kommune")
    actor = make_actor("municipality", organisation=muni)

    def citizen():
        patient = make_patient(nurse=nurse, gp=gp_org, municipality_id=muni.id)
        nurse.post(
            f"/api/v1/patients/{patient.id}/consents",
            json={"recipient_organisation_id": muni.id, "scope": "all"},
        )
        return patient

    return muni, actor, citizen


def test_incremental_sync_gets_amendments_and_new_minutes_once(nurse, fresh_municipality):
    _, actor, citizen = fresh_municipality
    url = FEED.format(code="9803")
    meeting, v1 = final_minutes(nurse, citizen().id)
    r = actor.get(url)
    assert [s["id"] for s in r.json["items"]] == [v1["id"]]
    assert r.json["has_more"] is False
    cursor = r.json["next_cursor"]
    assert cursor, "a finished sync still gets a cursor to resume from"

    nurse.post(f"/api/v1/meetings/{meeting['id']}/minutes/amendments", json={"reason": "rettelse"})
    v2 = finalise(nurse, meeting["id"], 2)
    _, other = final_minutes(nurse, citizen().id)

    r = actor.get(url, query_string={"cursor": cursor})
    assert [(s["id"], s["version_no"]) for s in r.json["items"]] == [
        (v2["id"], 2),
        (other["id"], 1),
    ]
    # The full feed holds only the latest version of each meeting.
    assert [s["id"] for s in actor.get(url).json["items"]] == [v2["id"], other["id"]]

    r = actor.get(url, query_string={"cursor": r.json["next_cursor"]})
    assert r.json["items"] == []
    assert r.json["next_cursor"]


def test_a_changed_action_item_moves_its_summary_to_the_end_of_the_feed(nurse, fresh_municipality):
    muni, actor, citizen = fresh_municipality
    url = FEED.format(code="9803")
    item = {"description": "Bostøtte", "responsible_organisation_id": muni.id}
    _, first = final_minutes(nurse, citizen().id, action_items=[item])
    _, second = final_minutes(nurse, citizen().id)
    r = actor.get(url)
    assert [s["id"] for s in r.json["items"]] == [first["id"], second["id"]]
    cursor = r.json["next_cursor"]

    done = actor.patch(
        f"/api/v1/action-items/{first['action_items'][0]['id']}", json={"status": "done"}
    )
    assert done.status_code == 200, done.json
    # The copy to the municipality took the version's new position, so a sync resumed from the
    # old cursor gets the changed summary, and the whole feed has it last.
    resumed = actor.get(url, query_string={"cursor": cursor}).json["items"]
    assert [(s["id"], s["action_items"][0]["status"]) for s in resumed] == [(first["id"], "done")]
    assert [s["id"] for s in actor.get(url).json["items"]] == [second["id"], first["id"]]


def test_updated_since_filters_older_changes(nurse, kbh_actor, consenting_patient):
    patient = consenting_patient()
    _, old = final_minutes(nurse, patient.id)
    _, new = final_minutes(nurse, patient.id)
    since = pull_all(kbh_actor)
    since_time = next(s["changed_at"] for s in since if s["id"] == new["id"])
    ids = {s["id"] for s in pull_all(kbh_actor, updated_since=since_time)}
    assert new["id"] in ids
    assert old["id"] not in ids


def test_municipality_marks_its_action_item_done(
    nurse, kbh_actor, consenting_patient, municipality, gp_org, make_actor
):
    kbh = municipality("0101")
    patient = consenting_patient()
    meeting, minutes = final_minutes(
        nurse,
        patient.id,
        action_items=[
            {"description": "Bostøtte", "responsible_organisation_id": kbh.id},
            {"description": "Blodprøver", "responsible_organisation_id": gp_org.id},
        ],
    )
    mine, gps = minutes["action_items"]
    assert (
        kbh_actor.patch(f"/api/v1/action-items/{gps['id']}", json={"status": "done"}).status_code
        == 404
    )
    r = kbh_actor.patch(f"/api/v1/action-items/{mine['id']}", json={"status": "cancelled"})
    assert r.status_code == 403
    r = kbh_actor.patch(f"/api/v1/action-items/{mine['id']}", json={"status": "done"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "done"
    assert r.json["done_by_id"] == kbh_actor.id

    gp = make_actor("gp", organisation=gp_org)
    r = gp.patch(f"/api/v1/action-items/{gps['id']}", json={"status": "done"})
    assert r.status_code == 200, r.json
    other_gp = make_actor("gp")
    assert (
        other_gp.patch(f"/api/v1/action-items/{gps['id']}", json={"status": "open"}).status_code
        == 404
    )

    [summary] = [s for s in pull_all(kbh_actor) if s["meeting_id"] == meeting["id"]]
    assert [i["status"] for i in summary["action_items"]] == ["done", "done"]


def test_municipality_cannot_touch_items_of_minutes_it_was_blocked_from(
    nurse, kbh_actor, make_patient, gp_org, municipality
):
    patient = make_patient(nurse=nurse, gp=gp_org)
    _, minutes = final_minutes(
        nurse,
        patient.id,
        action_items=[{"description": "x", "responsible_organisation_id": municipality("0101").id}],
    )
    item = minutes["action_items"][0]
    r = kbh_actor.patch(f"/api/v1/action-items/{item['id']}", json={"status": "done"})
    assert r.status_code == 404


def test_nurse_may_cancel_an_item_but_not_on_superseded_minutes(nurse, consenting_patient):
    patient = consenting_patient()
    meeting, minutes = final_minutes(nurse, patient.id, action_items=[{"description": "x"}])
    item = minutes["action_items"][0]
    nurse.post(f"/api/v1/meetings/{meeting['id']}/minutes/amendments", json={"reason": "r"})
    finalise(nurse, meeting["id"], 2)
    r = nurse.patch(f"/api/v1/action-items/{item['id']}", json={"status": "cancelled"})
    assert r.status_code == 409
    v2 = nurse.get(f"/api/v1/meetings/{meeting['id']}/minutes/2").json
    r = nurse.patch(
        f"/api/v1/action-items/{v2['action_items'][0]['id']}", json={"status": "cancelled"}
    )
    assert r.status_code == 200
    assert r.json["status"] == "cancelled"


def test_feed_runs_constant_statements(
    nurse, make_actor, make_patient, gp_org, municipality, count_queries, make_org
):
    # Two fresh municipalities, so other tests' data cannot change the counts.
    small_muni = make_org("municipality", municipality_code="9801", name="Lille Kommune")
    large_muni = make_org("municipality", municipality_code="9802", name="Store Kommune")
    small_actor = make_actor("municipality", organisation=small_muni)
    large_actor = make_actor("municipality", organisation=large_muni)

    def citizen(muni):
        patient = make_patient(nurse=nurse, gp=gp_org, municipality_id=muni.id)
        nurse.post(
            f"/api/v1/patients/{patient.id}/consents",
            json={"recipient_organisation_id": muni.id, "scope": "all"},
        )
        return patient

    items = [{"description": "opgave"}] * 2
    for _ in range(3):
        final_minutes(
            nurse, citizen(small_muni).id, [org_participant(gp_org.id)], action_items=items
        )
    for _ in range(30):
        final_minutes(
            nurse, citizen(large_muni).id, [org_participant(gp_org.id)], action_items=items
        )

    def count(actor, code):
        with count_queries() as counter:
            r = actor.get(FEED.format(code=code), query_string={"limit": 200})
        assert r.status_code == 200, r.json
        return len(r.json["items"]), counter.count

    small_n, few = count(small_actor, "9801")
    large_n, many = count(large_actor, "9802")
    assert (small_n, large_n) == (3, 30)
    assert few == many
