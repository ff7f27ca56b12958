"""The recipient area for GP and municipality staff: same login, Danish, their inbox, the
minutes they received, their action items, and a request for a meeting."""

from __future__ import annotations

import pytest

from tests.support.meetings import final_minutes


@pytest.fixture
def setup(make_web_user, make_actor, make_org, make_patient):
    practice = make_org("gp_practice", name="Lægehuset Nørrebro")
    gp = make_web_user("gp", organisation=practice)
    gp.login()
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse, gp=practice, name="Karen Holm")
    meeting, minutes = final_minutes(
        nurse,
        patient.id,
        summary="Stabil, men isoleret",
        action_items=[
            {"description": "Blodprøver og EKG", "responsible_organisation_id": practice.id},
            {"description": "Ring til bostøtten"},
        ],
    )
    return gp, nurse, patient, meeting, minutes


def test_gp_lands_in_the_inbox_opens_the_minutes_closes_its_item_and_acknowledges(setup):
    gp, nurse, patient, meeting, _minutes = setup
    start = gp.client.get("/today")
    assert start.status_code == 303 and start.headers["Location"].endswith("/inbox")
    inbox = gp.client.get("/inbox").get_data(as_text=True)
    assert "Indbakke" in inbox and "Karen Holm" in inbox
    assert "Blodprøver og EKG" in inbox
    assert patient.cpr not in inbox

    [message] = gp.actor.get("/api/v1/inbox").json["items"]
    page = gp.client.get(f"/inbox/{message['id']}").get_data(as_text=True)
    minutes_url = f"/received/meetings/{meeting['id']}/minutes/1"
    assert f'href="{minutes_url}"' in page

    read = gp.client.get(minutes_url).get_data(as_text=True)
    assert "Stabil, men isoleret" in read
    # The PDF link opens with the same login (a bearer-token API link would not, in a browser).
    pdf_url = f"/meetings/{meeting['id']}/minutes/1/pdf"
    assert f'href="{pdf_url}"' in read
    pdf = gp.client.get(pdf_url)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    [item] = gp.actor.get("/api/v1/action-items").json["items"]
    done = gp.post(
        f"/received/action-items/{item['id']}/done", {"next": minutes_url}, token_from=minutes_url
    )
    assert done.status_code == 303 and done.headers["Location"].endswith(minutes_url)
    assert gp.actor.get("/api/v1/action-items?status=open").json["items"] == []

    [row] = [
        d
        for d in nurse.get(f"/api/v1/meetings/{meeting['id']}/distributions").json
        if d["recipient_role"] == "gp"
    ]
    ack = gp.post(f"/received/distributions/{row['id']}/ack", {"next": minutes_url}, minutes_url)
    assert ack.status_code == 303
    [row] = [
        d
        for d in nurse.get(f"/api/v1/meetings/{meeting['id']}/distributions").json
        if d["recipient_role"] == "gp"
    ]
    assert row["status"] == "acknowledged"
    again = gp.client.get(minutes_url).get_data(as_text=True)
    assert 'id="minutes-acknowledged"' in again and 'id="ack-minutes"' not in again


def test_gp_asks_for_a_meeting_by_cpr_and_a_wrong_cpr_is_named(setup, make_patient):
    gp, nurse, patient, *_ = setup
    url = "/meeting-request"
    not_ours = make_patient(nurse=nurse)  # listed with another practice
    bad = gp.post(url, {"cpr": not_ours.cpr, "reason": "x"}, token_from=url)
    assert bad.status_code == 422
    assert "Ingen af dine patienter har det CPR-nummer." in bad.get_data(as_text=True)
    invalid = gp.post(url, {"cpr": "12345", "reason": "x"}, token_from=url)
    assert "Skriv et gyldigt CPR-nummer." in invalid.get_data(as_text=True)
    empty = gp.post(url, {"cpr": patient.cpr, "reason": ""}, token_from=url)
    assert empty.status_code == 422
    sent = gp.post(
        url,
        {"cpr": patient.cpr, "reason": "Tiltagende isolation", "urgency": "urgent",
         "attendees": "Bostøtten"},
        token_from=url,
    )  # fmt: skip
    assert sent.status_code == 303, sent.get_data(as_text=True)
    [request] = nurse.get(f"/api/v1/meetings?patient={patient.id}&status=requested").json["items"]
    assert request["requested_by_kind"] == "gp"
    assert "Tiltagende isolation" in request["agenda"] and "Bostøtten" in request["agenda"]


def test_someone_elses_minutes_are_not_found_and_nurses_keep_their_pages(setup, make_web_user):
    _gp, _nurse, _patient, meeting, _ = setup
    other = make_web_user("gp")
    other.login()
    assert other.client.get(f"/received/meetings/{meeting['id']}/minutes/1").status_code == 404
    web_nurse = make_web_user("nurse")
    web_nurse.login()
    assert web_nurse.client.get("/inbox").status_code == 404
    assert web_nurse.client.get("/today").status_code == 200
