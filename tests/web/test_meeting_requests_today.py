"""A meeting request from the GP shows on the nurse's Today page, urgent and with its reason."""

from __future__ import annotations


def test_requested_meeting_is_on_the_nurses_today_page(
    make_web_user, make_patient, make_org, make_actor
):
    nurse = make_web_user()
    nurse.login()
    practice = make_org("gp_practice", name="Lægehuset Nørrebro")
    patient = make_patient(nurse=nurse.actor, gp=practice, name="Karen Holm")
    gp = make_actor("gp", organisation=practice)
    r = gp.post(
        "/api/v1/meeting-requests",
        json={"patient_id": patient.id, "reason": "Medicin skal afklares", "urgency": "urgent"},
    )
    assert r.status_code == 201, r.json

    html = nurse.client.get("/today").get_data(as_text=True)
    section = html[html.index('data-section="meeting_requests"') :]
    assert "Møde ønsket af Lægehuset Nørrebro" in section
    assert "Medicin skal afklares" in section
    assert "Haster" in section
    assert "Karen Holm" in section
    assert f"/meetings/{r.json['id']}" in section
