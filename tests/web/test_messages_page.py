"""Messages from the GP on the nurse's pages: new at the top of Today until she opens the
patient, the thread on the patient's page with a reply and a forward, attachments to download."""

from __future__ import annotations

from sqlalchemy import select

from bridge.domain.messaging.models import MessageAttachment, ThreadMessage
from bridge.domain.notifications.models import Notification
from bridge.domain.registry.models import Organisation, OrganisationKind
from tests.support.medcom import HOSPITAL_GLN, HOSPITAL_SOR, from_hospital_sender, post, rewritten


def _setup(make_web_user, make_org, make_actor, make_patient, session):
    practice = make_org(OrganisationKind.GP_PRACTICE, sor_code=HOSPITAL_SOR, gln=HOSPITAL_GLN)
    gp = make_actor("gp", organisation=practice)
    nurse = make_web_user()
    nurse.login()
    patient = make_patient(nurse=nurse.actor, gp=practice, name="Karen Holm")
    assert post(gp, rewritten("cc-03-reply-thread.json", patient.cpr)).status_code == 200
    return nurse, gp, practice, patient


def test_a_new_message_is_first_on_today_until_she_opens_the_patient(
    make_web_user, make_org, make_actor, make_patient, session
):
    nurse, _gp, _practice, patient = _setup(
        make_web_user, make_org, make_actor, make_patient, session
    )

    today = nurse.client.get("/today").get_data(as_text=True)

    assert 'data-section="messages"' in today
    assert today.index("data-section=") == today.index('data-section="messages"')
    assert "4 nye beskeder" in today and "Karen Holm" in today
    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Forspørgsel på seneste resultater" in page
    assert "Til rette vedkommende" in page
    assert "Send svar" in page and "Videresend beskeden" in page
    after = nurse.client.get("/today").get_data(as_text=True)
    assert 'data-section="messages"' not in after


def test_she_replies_and_forwards_from_the_patient_page(
    make_web_user, make_org, make_actor, make_patient, session
):
    nurse, _gp, practice, patient = _setup(
        make_web_user, make_org, make_actor, make_patient, session
    )
    token_from = f"/patients/{patient.id}"
    last = session.scalars(
        select(ThreadMessage)
        .where(ThreadMessage.patient_id == patient.id)
        .order_by(ThreadMessage.id.desc())
    ).first()

    replied = nurse.post(f"/messages/{last.id}/reply", {"text": "Tak."}, token_from=token_from)
    municipality = session.get(Organisation, patient.municipality_id)
    forwarded = nurse.post(
        f"/messages/{last.id}/forward",
        {"recipient_organisation_id": str(municipality.id), "text": "Til orientering."},
        token_from=token_from,
    )
    empty = nurse.post(f"/messages/{last.id}/reply", {"text": ""}, token_from=token_from)

    assert replied.status_code == forwarded.status_code == 303
    assert replied.headers["Location"].startswith(f"/patients/{patient.id}#message-")
    sent = session.scalars(
        select(ThreadMessage).where(ThreadMessage.direction == "out").order_by(ThreadMessage.id)
    ).all()
    assert [(m.activity, m.recipient_organisation_id) for m in sent] == [
        ("reply-message", practice.id),
        ("forward-message", municipality.id),
    ]
    kinds = {n.kind for n in session.scalars(select(Notification))}
    assert {"care_reply", "care_forward"} <= kinds
    assert empty.status_code == 422
    assert "Skriv beskeden, før du sender den." in empty.get_data(as_text=True)
    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Til orientering." in page and "Videresendt" in page


def test_attachments_download_for_those_who_see_the_patient_only(
    make_web_user, make_org, make_actor, make_patient, session
):
    nurse, gp, _practice, patient = _setup(
        make_web_user, make_org, make_actor, make_patient, session
    )
    # MedCom's example with a PDF inside, sent by the same practice.
    bundle = rewritten("cc-05-referral-careteam-recipient-attachments.json", patient.cpr)
    from_hospital_sender(bundle)
    assert post(gp, bundle).status_code == 200
    stranger = make_web_user()
    stranger.login()
    pdf = session.scalars(
        select(MessageAttachment).where(MessageAttachment.data.is_not(None))
    ).one()

    mine = nurse.client.get(f"/message-attachments/{pdf.id}")
    theirs = stranger.client.get(f"/message-attachments/{pdf.id}")

    assert mine.status_code == 200
    assert mine.mimetype == "application/pdf"
    assert mine.headers["Content-Disposition"].startswith("attachment;")
    assert mine.data == pdf.data and mine.data.startswith(b"%PDF")
    assert theirs.status_code == 404
    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert f"/message-attachments/{pdf.id}" in page
