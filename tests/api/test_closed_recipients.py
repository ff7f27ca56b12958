"""Issue 17 item 3: no message to a dead address."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bridge.domain.base import utcnow
from bridge.domain.gaps.engine import GapConfig
from bridge.domain.meetings.distribution import CLOSED_REASON
from bridge.domain.meetings.models import Distribution, DistributionStatus
from bridge.domain.patients.models import Patient
from bridge.jobs.gaps import gap_scan
from tests.support.gaps import live, scan
from tests.support.meetings import distributions, final_minutes

CLOSED = date(2026, 1, 31)  # before today (the suite runs in late 2026 and later)


def test_a_patient_cannot_be_listed_with_a_closed_practice(
    make_actor, make_org, municipality, session
):
    nurse = make_actor("nurse")
    successor = make_org("gp_practice")
    closed = make_org("gp_practice", valid_to=CLOSED, successor_id=successor.id)
    body = {"cpr": "010190-1234", "name": "Åse", "municipality_id": municipality().id}
    r = nurse.post("/api/v1/patients", json={**body, "gp_practice_id": closed.id})
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert "gp_practice_id" in r.json["errors"]
    assert f"successor is organisation {successor.id}" in str(r.json["errors"]["gp_practice_id"])
    assert (
        session.scalar(select(func.count()).select_from(Patient).where(Patient.cpr == "0101901234"))
        == 0
    )
    ok = nurse.post("/api/v1/patients", json={**body, "gp_practice_id": successor.id})
    assert ok.status_code == 201, ok.json


def test_changing_to_a_closed_practice_is_refused(make_actor, make_org, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    closed = make_org("gp_practice", valid_to=CLOSED)
    etag = nurse.get(f"/api/v1/patients/{patient.id}").headers["ETag"]
    r = nurse.patch(
        f"/api/v1/patients/{patient.id}",
        json={"gp_practice_id": closed.id},
        headers={"If-Match": etag},
    )
    assert r.status_code == 422 and "gp_practice_id" in r.json["errors"]


def test_minutes_to_a_closed_practice_are_blocked_and_flagged(
    session, make_actor, make_org, make_patient
):
    nurse = make_actor("nurse")
    successor = make_org("gp_practice")
    closed = make_org("gp_practice", valid_to=CLOSED, successor_id=successor.id)
    patient = make_patient(nurse=nurse, gp=closed)  # listed before the practice closed
    meeting, _ = final_minutes(nurse, patient.id)
    (gp,) = [d for d in distributions(nurse, meeting["id"]) if d["recipient_role"] == "gp"]
    assert gp["status"] == "blocked"
    assert gp["blocked_reason"].startswith(CLOSED_REASON)
    assert f"successor is organisation {successor.id}" in gp["blocked_reason"]

    scan(session, "gp_practice_closed")
    scan(session, "distribution_blocked_by_consent")
    (flag,) = live(session, "gp_practice_closed", patient.id)
    assert flag.message_da == "Egen læges praksis er lukket — vælg borgerens nye praksis"
    # The closed practice is not mistaken for a missing consent.
    assert live(session, "distribution_blocked_by_consent", gp["id"]) == []

    # Choosing the new practice closes the flag.
    etag = nurse.get(f"/api/v1/patients/{patient.id}").headers["ETag"]
    r = nurse.patch(
        f"/api/v1/patients/{patient.id}",
        json={"gp_practice_id": successor.id},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.json
    scan(session, "gp_practice_closed")
    assert live(session, "gp_practice_closed", patient.id) == []


def test_rows_waiting_for_a_practice_that_closes_are_blocked(
    session, make_actor, make_org, make_patient
):
    nurse = make_actor("nurse")
    practice = make_org("gp_practice")
    other = make_org("gp_practice")
    patient = make_patient(nurse=nurse, gp=practice)
    meeting, _ = final_minutes(nurse, patient.id)
    (gp,) = [d for d in distributions(nurse, meeting["id"]) if d["recipient_role"] == "gp"]
    assert gp["status"] == "pending"
    bystander = make_patient(nurse=nurse, gp=other)
    meeting2, _ = final_minutes(nurse, bystander.id)
    practice.valid_to = CLOSED
    session.commit()
    summary = gap_scan(session, utcnow(), config=GapConfig())
    session.commit()
    assert summary["blocked_for_closed_recipients"] == 1
    row = session.get(Distribution, gp["id"])
    session.refresh(row)
    assert (row.status, row.blocked_reason) == (DistributionStatus.BLOCKED, CLOSED_REASON)
    (still,) = [d for d in distributions(nurse, meeting2["id"]) if d["recipient_role"] == "gp"]
    assert still["status"] == "pending"
    assert live(session, "gp_practice_closed", patient.id)
