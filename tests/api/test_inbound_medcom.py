"""The inbound MedCom door, driven by MedCom's own example messages rewritten to a patient of
the test database: each has its effect, gets an acknowledgement that validates, and changes
nothing when posted again."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.config import settings_of
from bridge.domain.audit import AuditEvent
from bridge.domain.care.models import (
    Admission,
    Destination,
    FollowUpTask,
)
from bridge.domain.messaging.models import (
    HospitalEpisode,
    InboundMessage,
    MessageAttachment,
    ThreadMessage,
)
from bridge.domain.notifications.models import Channel, Notification, NotificationStatus
from bridge.domain.patients.models import PatientStatus
from bridge.domain.registry.models import OrganisationKind, Specialty
from tests.support.medcom import (
    EXAMPLE_CPR,
    FHIR,
    HOSPITAL_GLN,
    HOSPITAL_SOR,
    MEDCOM_EXAMPLES,
    SHARED,
    URL,
    from_hospital_sender,
    medcom_example,
    post,
    rewritten,
)

VALIDATOR = SHARED / "tools" / "medcom-validate"


@pytest.fixture
def hospital(make_org, make_actor):
    """The examples' sender as a department of the test database, with its system account."""
    dept = make_org(
        OrganisationKind.HOSPITAL_DEPARTMENT,
        name="Hjerteafdelingen",
        sor_code=HOSPITAL_SOR,
        gln=HOSPITAL_GLN,
        specialty=Specialty.PSYCHIATRY,
    )
    return make_actor("hospital", organisation=dept)


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def patient(make_patient, nurse):
    return make_patient(nurse=nurse)


@pytest.fixture(scope="session")
def validate(tmp_path_factory):
    """Run MedCom's validator on Bundles; skipped in a clone without ../shared."""
    if not (VALIDATOR / "medcom-validate.cjs").is_file() or shutil.which("node") is None:
        pytest.skip("the MedCom validator (../shared/tools/medcom-validate) or node is missing")
    home = Path(os.environ.get("BRIDGE_MEDCOM_VALIDATE_DIR", "/tmp/bridge-medcom-validate"))
    if not (home / "node_modules").is_dir():
        home.mkdir(parents=True, exist_ok=True)
        for f in ("medcom-validate.cjs", "package.json", "package-lock.json"):
            shutil.copy(VALIDATOR / f, home / f)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=home, check=True)
    shutil.copy(VALIDATOR / "medcom-validate.cjs", home / "medcom-validate.cjs")
    out = tmp_path_factory.mktemp("acks")
    profiles = VALIDATOR.parent.parent / "medcom-profiles"

    def run(bundle: dict) -> list[dict]:
        path = out / f"{bundle['id']}.json"
        path.write_text(json.dumps(bundle))
        result = subprocess.run(
            ["node", "--experimental-websocket", str(home / "medcom-validate.cjs"), "--json",
             "--profiles", str(profiles), str(path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        report = json.loads(result.stdout)
        return [i for i in report[0]["issues"] if i["severity"] == "error"]

    return run


def ack_of(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FHIR
    ack = response.get_json(force=True)
    header = ack["entry"][0]["resource"]
    assert header["eventCoding"]["code"] == "acknowledgement-message"
    return ack


def code_of(ack: dict) -> str:
    return ack["entry"][0]["resource"]["response"]["code"]


def test_admission_notification_registers_a_stay_and_answers_ok(
    session, hospital, patient, validate
):
    bundle = rewritten("hn-01-admit-inpatient-STIN.json", patient.cpr)
    ack = ack_of(post(hospital, bundle))
    assert code_of(ack) == "ok"
    assert (
        ack["entry"][0]["resource"]["response"]["identifier"]
        == bundle["entry"][0]["resource"]["id"]
    )
    assert validate(ack) == []
    stays = session.scalars(select(Admission).where(Admission.patient_id == patient.id)).all()
    assert len(stays) == 1
    assert stays[0].department_id == hospital.organisation_id
    assert stays[0].acute is False
    assert stays[0].admitted_at == datetime(2022, 12, 7, 10, 0, tzinfo=UTC)
    # The stay is in the patient's access log as written by the hospital's account.
    assert session.scalar(
        select(func.count()).where(
            AuditEvent.patient_id == patient.id,
            AuditEvent.resource_type == "inbound_message",
            AuditEvent.staff_id == hospital.id,
        )
    )

    again = post(hospital, bundle)
    assert again.get_json(force=True) == ack  # the stored acknowledgement, byte for byte
    assert session.scalar(select(func.count()).select_from(Admission).where(
        Admission.patient_id == patient.id)) == 1  # fmt: skip
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_emergency_admission_is_acute(session, hospital, patient):
    bundle = rewritten("hn-02-admit-emergency-STAA.json", patient.cpr)
    assert code_of(ack_of(post(hospital, bundle))) == "ok"
    stay = session.scalar(select(Admission).where(Admission.patient_id == patient.id))
    assert stay.acute is True


def test_leave_discharge_and_follow_up_through_the_same_services(session, hospital, patient, nurse):
    assert (
        code_of(ack_of(post(hospital, rewritten("hn-01-admit-inpatient-STIN.json", patient.cpr))))
        == "ok"
    )
    leave = rewritten("hn-04-start-leave.json", patient.cpr)
    assert code_of(ack_of(post(hospital, leave))) == "ok"
    episode = session.scalar(
        select(HospitalEpisode).where(HospitalEpisode.patient_id == patient.id)
    )
    assert episode.on_leave_since == datetime(2022, 12, 13, 12, 0, 10, tzinfo=UTC)

    discharge = rewritten("hn-03-discharge-inpatient-home.json", patient.cpr)
    assert code_of(ack_of(post(hospital, discharge))) == "ok"
    stay = session.scalar(select(Admission).where(Admission.patient_id == patient.id))
    session.refresh(stay)
    assert stay.discharged_at == datetime(2022, 12, 18, 7, 45, 30, tzinfo=UTC)
    assert stay.destination == Destination.HOME
    assert episode.on_leave_since is None
    tasks = session.scalars(select(FollowUpTask).where(FollowUpTask.admission_id == stay.id)).all()
    assert tasks  # the region's follow-up plan ran, as for a discharge registered by hand

    assert code_of(ack_of(post(hospital, discharge))) == "ok"  # a duplicate: nothing more
    assert session.scalar(
        select(func.count()).select_from(FollowUpTask).where(FollowUpTask.admission_id == stay.id)
    ) == len(tasks)


def test_cancellation_undoes_the_admission(session, hospital, patient):
    assert (
        code_of(ack_of(post(hospital, rewritten("hn-01-admit-inpatient-STIN.json", patient.cpr))))
        == "ok"
    )
    cancel = rewritten("hn-05-cancel-admit-entered-in-error.json", patient.cpr)
    assert code_of(ack_of(post(hospital, cancel))) == "ok"
    assert session.scalar(select(Admission).where(Admission.patient_id == patient.id)) is None
    cancelled = session.scalar(
        select(InboundMessage).where(
            InboundMessage.message_header_id == "b9b4818e-02de-4cc4-b418-d20cbc7b5404"
        )
    )
    assert cancelled.cancelled_at is not None
    assert code_of(ack_of(post(hospital, cancel))) == "ok"


def test_death_ends_the_stay_as_deceased(session, hospital, patient):
    assert code_of(ack_of(post(hospital, rewritten("hn-06-deceased.json", patient.cpr)))) == "ok"
    stay = session.scalar(select(Admission).where(Admission.patient_id == patient.id))
    assert stay.destination == Destination.DECEASED
    session.refresh(patient)
    assert patient.status == PatientStatus.DECEASED


def test_a_person_bridge_does_not_hold_is_acknowledged_and_not_stored(session, hospital):
    bundle = medcom_example("hn-01-admit-inpatient-STIN.json")
    ack = ack_of(post(hospital, bundle))
    assert code_of(ack) == "ok"
    row = session.scalar(select(InboundMessage))
    assert row.patient_id is None and row.bundle is None
    assert EXAMPLE_CPR not in json.dumps(ack)
    assert session.scalar(select(func.count()).select_from(Admission)) == 0
    assert session.scalar(select(func.count()).select_from(HospitalEpisode)) == 0


def test_a_broken_message_gets_a_fatal_error_that_validates_and_changes_nothing(
    session, hospital, patient, validate
):
    bundle = rewritten("hn-01-admit-inpatient-STIN.json", patient.cpr)
    encounter = bundle["entry"][2]["resource"]
    encounter["class"]["code"] = "AMB"  # outside MedCom's value set
    ack = ack_of(post(hospital, bundle))
    assert code_of(ack) == "fatal-error"
    outcome = ack["entry"][-1]["resource"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "MSG_VALUESET_VALUE_UNKNOWN"
    assert validate(ack) == []
    assert session.scalar(select(func.count()).select_from(Admission)) == 0
    assert post(hospital, bundle).get_json(force=True) == ack


@pytest.mark.parametrize(
    "breakage",
    [
        lambda b: b["entry"][2]["resource"].pop("episodeOfCare"),
        lambda b: b["entry"][1]["resource"].update(identifier=[]),
        lambda b: b["entry"][0]["resource"].pop("focus"),
        lambda b: b["entry"][0]["resource"]["destination"][0].pop("extension"),
        lambda b: b.update(type="collection"),
        lambda b: b["entry"][-1]["resource"]["activity"]["coding"][0].update(code="dance"),
    ],
)
def test_profile_breaches_are_refused(session, hospital, patient, breakage):
    bundle = rewritten("hn-01-admit-inpatient-STIN.json", patient.cpr)
    breakage(bundle)
    assert code_of(ack_of(post(hospital, bundle))) == "fatal-error"
    assert session.scalar(select(func.count()).select_from(Admission)) == 0


def test_only_the_sender_organisation_may_post_its_messages(session, make_actor, patient):
    other = make_actor("hospital")
    response = post(other, rewritten("hn-01-admit-inpatient-STIN.json", patient.cpr))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_non_fhir_input_gets_problem_json(hospital):
    for body in (b"not json", b"[1,2]", json.dumps({"resourceType": "Patient"}).encode()):
        r = hospital.client.post(URL, data=body, headers=hospital.headers({"Content-Type": FHIR}))
        assert r.status_code == 422
        assert r.mimetype == "application/problem+json"


def test_body_limit_fits_attachments_but_not_more(app, hospital, patient):
    bundle = rewritten("cc-05-referral-careteam-recipient-attachments.json", patient.cpr)
    big = json.dumps(bundle).encode()
    assert len(big) > 100_000
    limit = settings_of(app).BRIDGE_FHIR_MAX_BODY_BYTES
    too_big = b" " * (limit + 1)
    r = hospital.client.post(URL, data=too_big, headers=hospital.headers({"Content-Type": FHIR}))
    assert r.status_code == 413


# --- CareCommunication ------------------------------------------------------------------------


@pytest.fixture
def gp_sender(make_org, make_actor):
    """cc-03's sender (SOR 265161000016000 too) as a GP practice's system account."""
    practice = make_org(OrganisationKind.GP_PRACTICE, sor_code=HOSPITAL_SOR, gln=HOSPITAL_GLN)
    return make_actor("gp", organisation=practice)


def test_a_reply_lands_in_the_patients_thread(session, gp_sender, patient, nurse, validate):
    bundle = rewritten("cc-03-reply-thread.json", patient.cpr)
    ack = ack_of(post(gp_sender, bundle))
    assert code_of(ack) == "ok"
    assert validate(ack) == []
    # As in MedCom's examples: the answered message's own Provenance, then the acknowledgement's.
    activities = [
        e["resource"]["activity"]["coding"][0]["code"]
        for e in ack["entry"]
        if e["resource"]["resourceType"] == "Provenance"
    ]
    assert activities == ["reply-message", "acknowledgement"]
    threads = nurse.get(f"/api/v1/patients/{patient.id}/messages")
    assert threads.status_code == 200
    [thread] = threads.get_json()
    assert thread["topic"] == "Forspørgsel på seneste resultater"
    # The thread's four payloads (three texts and the PDF's), oldest first.
    assert len(thread["messages"]) == 4
    assert thread["messages"][2]["attachments"][0]["title"] == "Blodprøveresultater"
    assert thread["messages"][0]["text"].startswith("Til rette vedkommende")
    assert all(m["direction"] == "in" for m in thread["messages"])
    # Posted again: the same answer, no new messages.
    assert post(gp_sender, bundle).get_json(force=True) == ack
    assert session.scalar(select(func.count()).select_from(ThreadMessage)) == 4
    # The read is in the patient's access log.
    assert session.scalar(
        select(func.count()).where(
            AuditEvent.patient_id == patient.id,
            AuditEvent.resource_type == "message_thread",
            AuditEvent.staff_id == nurse.id,
        )
    )


def test_attachments_are_stored(session, gp_sender, patient):
    bundle = rewritten("cc-05-referral-careteam-recipient-attachments.json", patient.cpr)
    from_hospital_sender(bundle)
    assert code_of(ack_of(post(gp_sender, bundle))) == "ok"
    attachments = session.scalars(select(MessageAttachment).order_by(MessageAttachment.id)).all()
    assert [a.content_type for a in attachments] == ["application/pdf", None]
    assert attachments[0].data.startswith(b"%PDF")
    assert attachments[1].url == "https://medcom.dk/"


def test_others_patients_messages_answer_404(gp_sender, patient, make_actor):
    post(gp_sender, rewritten("cc-03-reply-thread.json", patient.cpr))
    stranger = make_actor("nurse")
    assert stranger.get(f"/api/v1/patients/{patient.id}/messages").status_code == 404


# --- Acknowledgements through the same door -----------------------------------------------------


@pytest.fixture
def sent_message(session, patient, make_org):
    """A CareCommunication Bridge sent to the example acknowledgements' sender."""
    receiver = make_org(
        OrganisationKind.GP_PRACTICE, sor_code="953741000016009", gln="5790001348120"
    )
    n = Notification(
        kind="minutes_final",
        channel=Channel.FHIR,
        recipient_organisation_id=receiver.id,
        patient_id=patient.id,
        status=NotificationStatus.SENT,
        message_header_id="53128d9b-cede-4c7f-8904-809eab322d7d",
        bundle_id="b1",
        idempotency_key="k-ack-test",
        event_key="e-ack-test",
        payload={},
        attempts=1,
        created_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    session.add(n)
    session.commit()
    return receiver, n


@pytest.mark.parametrize(
    ("example", "status"),
    [
        ("ack-01-ok.json", NotificationStatus.ACKNOWLEDGED),
        ("ack-02-fatal-error.json", NotificationStatus.FAILED),
        ("ack-03-transient-error.json", NotificationStatus.PENDING),
    ],
)
def test_each_acknowledgement_code_through_the_door(
    session, make_actor, sent_message, example, status
):
    receiver, n = sent_message
    gp = make_actor("gp", organisation=receiver)
    bundle = medcom_example(example)
    bundle["entry"][0]["resource"]["response"]["identifier"] = n.message_header_id
    r = post(gp, bundle)
    assert r.status_code == 204  # an acknowledgement is never acknowledged
    session.refresh(n)
    assert n.status == status
    again = post(gp, bundle)
    assert again.status_code == 204
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


@pytest.mark.parametrize("url", [URL, "/api/v1/fhir/acknowledgements"])
def test_a_fatal_error_without_its_operation_outcome_is_refused(
    session, make_actor, sent_message, url
):
    receiver, n = sent_message
    gp = make_actor("gp", organisation=receiver)
    bundle = medcom_example("ack-02-fatal-error.json")
    header = bundle["entry"][0]["resource"]
    header["response"]["identifier"] = n.message_header_id
    header["response"].pop("details")
    bundle["entry"] = [
        e for e in bundle["entry"] if e["resource"]["resourceType"] != "OperationOutcome"
    ]
    r = gp.client.post(url, data=json.dumps(bundle), headers=gp.headers({"Content-Type": FHIR}))
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    session.refresh(n)
    assert n.status == NotificationStatus.SENT  # still waiting for a proper answer


def test_every_example_reads_cleanly():
    """MedCom's own examples pass Bridge's structural checks (and broken ones do not)."""
    from bridge.medcom import codes, inbound

    if not MEDCOM_EXAMPLES.is_dir():
        pytest.skip("MedCom examples missing")
    for path in sorted(MEDCOM_EXAMPLES.glob("*.json")):
        bundle = json.loads(path.read_text())
        envelope, msg = inbound.read_envelope(copy.deepcopy(bundle))
        if envelope.event == codes.HOSPITAL_NOTIFICATION:
            inbound.read_hospital_notification(envelope, msg)
        elif envelope.event == codes.CARE_COMMUNICATION:
            inbound.read_care_communication(envelope, msg)
        else:
            inbound.check_acknowledgement(envelope, msg)
