"""The distribution table in the web: blocked rows say why in Danish and can be sent once the
consent is recorded; a relative's copy is recorded as handed over."""

from __future__ import annotations

import pytest

from tests.support.meetings import distributions, final_minutes


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


def _row(nurse, meeting_id: int, **match) -> dict:
    [row] = [
        r
        for r in distributions(nurse.actor, meeting_id)
        if all(r[k] == v for k, v in match.items())
    ]
    return row


def test_a_blocked_row_says_why_in_danish_and_is_sent_once_consent_exists(
    nurse, make_patient, municipality
):
    patient = make_patient(nurse=nurse.actor)
    kbh = municipality("0101")
    meeting, _ = final_minutes(nurse.actor, patient.id)
    url = f"/meetings/{meeting['id']}"
    page = nurse.client.get(url).get_data(as_text=True)
    assert "Intet samtykke fra patienten dækker referatet til denne modtager." in page
    assert "no active consent" not in page
    row = _row(nurse, meeting["id"], recipient_organisation_id=kbh.id)
    release = f"{url}/distributions/{row['id']}/release"

    refused = nurse.post(release, token_from=url)
    assert refused.status_code == 409
    assert "Der er stadig intet samtykke" in refused.get_data(as_text=True)

    # Recording the consent releases the row by itself; the button is gone.
    r = nurse.actor.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "municipality", "scope": "minutes"},
    )
    assert r.status_code == 201
    assert _row(nurse, meeting["id"], recipient_organisation_id=kbh.id)["status"] == "sent"
    page = nurse.client.get(url).get_data(as_text=True)
    assert f'action="{release}"' not in page


def test_send_now_releases_a_relative_once_allowed(nurse, make_patient, session):
    from bridge.domain.patients.models import Relative

    patient = make_patient(nurse=nurse.actor)
    r = nurse.actor.post(
        f"/api/v1/patients/{patient.id}/relatives",
        json={"name": "Lone Holm", "relation": "mor", "may_receive_information": False},
    )
    rel_id = r.json["id"]
    meeting, _ = final_minutes(
        nurse.actor, patient.id, [{"kind": "relative", "relative_id": rel_id}]
    )
    url = f"/meetings/{meeting['id']}"
    assert "Patienten har ikke givet lov til at orientere denne pårørende." in nurse.client.get(
        url
    ).get_data(as_text=True)
    session.get(Relative, rel_id).may_receive_information = True
    session.commit()
    row = _row(nurse, meeting["id"], recipient_relative_id=rel_id)
    sent = nurse.post(f"{url}/distributions/{row['id']}/release", token_from=url)
    assert sent.status_code == 303
    assert _row(nurse, meeting["id"], recipient_relative_id=rel_id)["status"] == "pending"

    handed = nurse.post(
        f"{url}/distributions/{row['id']}/handover",
        {"handed_over_to": "Lone Holm", "method": "in_person"},
        token_from=url,
    )
    assert handed.status_code == 303
    done = _row(nurse, meeting["id"], recipient_relative_id=rel_id)
    assert done["status"] == "acknowledged" and done["handed_over_to"] == "Lone Holm"
    page = nurse.client.get(url).get_data(as_text=True)
    assert "Udleveret til Lone Holm (Personligt)" in page
