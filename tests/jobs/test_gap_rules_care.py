"""Gap rules about admissions, discharges, follow-up tasks and statutory plans: each raises on a
real gap, stays quiet just inside its threshold, and resolves by itself once the gap closes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.registry.models import OrganisationKind, Specialty
from tests.support.care import admit, discharge
from tests.support.gaps import MINUTE, live, resolved, scan
from tests.support.meetings import iso


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def ward(make_org):
    return make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)


@pytest.fixture
def somatic_ward(make_org):
    return make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.SOMATIC)


def stay(actor, patient, ward, admitted: str, discharged: str | None = None, **extra) -> dict:
    r = admit(actor, patient, ward, at=admitted)
    assert r.status_code == 201, r.json
    if discharged is None:
        return r.json
    r = discharge(actor, r.json["id"], at=discharged, **extra)
    assert r.status_code == 200, r.json
    return r.json


def tasks_of(actor, patient, admission_id: int) -> list[dict]:
    r = actor.get(f"/api/v1/follow-ups?patient={patient.id}&limit=200")
    assert r.status_code == 200, r.json
    return [t for t in r.json["items"] if t["admission_id"] == admission_id]


def patch_task(actor, task_id: int, body: dict) -> dict:
    etag = actor.get(f"/api/v1/follow-ups/{task_id}").headers["ETag"]
    r = actor.patch(f"/api/v1/follow-ups/{task_id}", json=body, headers={"If-Match": etag})
    assert r.status_code == 200, r.json
    return r.json


def cancel_all(actor, tasks: list[dict]) -> None:
    for task in tasks:
        patch_task(actor, task["id"], {"status": "cancelled", "cancel_reason": "ikke relevant"})


# --- discharge_without_plan ---------------------------------------------------------------------


def test_discharge_without_plan_when_every_task_is_cancelled_until_one_is_added(
    session, nurse, make_patient, ward
):
    patient = make_patient(nurse=nurse)  # in a course since 5 January 2026
    admission = stay(nurse, patient, ward, "2026-03-01T10:00:00+01:00", "2026-03-10T10:00:00+01:00")
    tasks = tasks_of(nurse, patient, admission["id"])
    assert tasks  # the region's templates made a plan
    rule = "discharge_without_plan"
    assert scan(session, rule)["opened"] == 0

    cancel_all(nurse, tasks)
    assert scan(session, rule)["opened"] == 1
    (flag,) = live(session, rule, admission["id"])
    assert (flag.subject_type, flag.patient_id, flag.severity) == ("admission", patient.id, 3)

    r = nurse.post(
        "/api/v1/follow-ups",
        json={
            "patient_id": patient.id,
            "admission_id": admission["id"],
            "title": "Hjemmebesøg",
            "responsible_kind": "nurse",
            "responsible_staff_id": nurse.id,
            "due_at": "2026-03-13T16:00:00+01:00",
        },
    )
    assert r.status_code == 201, r.json
    assert scan(session, rule)["resolved"] == 1


def test_discharge_before_the_course_began_or_to_another_hospital_needs_no_plan(
    session, nurse, make_patient, ward
):
    patient = make_patient(nurse=nurse)  # course from 5 January 2026
    before = stay(nurse, patient, ward, "2025-12-20T10:00:00+01:00", "2026-01-04T23:00:00+01:00")
    transfer = stay(
        nurse,
        patient,
        ward,
        "2026-02-01T10:00:00+01:00",
        "2026-02-03T10:00:00+01:00",
        destination="other_hospital",
    )
    assert tasks_of(nurse, patient, transfer["id"]) == []
    cancel_all(nurse, tasks_of(nurse, patient, before["id"]))
    assert scan(session, "discharge_without_plan")["opened"] == 0


# --- follow_up_overdue --------------------------------------------------------------------------


def test_follow_up_overdue_after_its_deadline_until_done(session, nurse, make_patient, ward):
    patient = make_patient(nurse=nurse)
    admission = stay(nurse, patient, ward, "2026-03-01T10:00:00+01:00", "2026-03-10T10:00:00+01:00")
    task, other, *_ = sorted(tasks_of(nurse, patient, admission["id"]), key=lambda t: t["due_at"])
    due = datetime.fromisoformat(task["due_at"])
    rule = "follow_up_overdue"

    scan(session, rule, due)
    assert live(session, rule, task["id"]) == []  # at the deadline it is not yet overdue
    scan(session, rule, due + MINUTE)
    (flag,) = live(session, rule, task["id"])
    assert (flag.subject_type, flag.patient_id) == ("follow_up_task", patient.id)

    r = nurse.post(f"/api/v1/follow-ups/{task['id']}/complete", json={"note": "talt med"})
    assert r.status_code == 200, r.json
    patch_task(nurse, other["id"], {"status": "cancelled", "cancel_reason": "dobbelt"})
    scan(session, rule, datetime.fromisoformat(other["due_at"]) + MINUTE)
    assert resolved(session, rule, task["id"])
    assert live(session, rule, other["id"]) == []  # cancelled tasks are no gap


def test_gp_task_without_a_practice_is_a_gap_until_someone_owns_it(
    session, nurse, make_patient, make_org, ward
):
    patient = make_patient(nurse=nurse, gp_practice_id=None)
    admission = stay(nurse, patient, ward, "2026-03-01T10:00:00+01:00", "2026-03-10T10:00:00+01:00")
    tasks = tasks_of(nurse, patient, admission["id"])
    (gp_task,) = [t for t in tasks if t["responsible_kind"] == "gp"]
    assert gp_task["responsible_organisation_id"] is None
    soon = datetime(2026, 3, 10, 12, 0, tzinfo=COPENHAGEN)  # nothing is due yet
    assert all(datetime.fromisoformat(t["due_at"]) > soon for t in tasks)
    rule = "follow_up_overdue"
    assert scan(session, rule, soon)["opened"] == 1
    assert live(session, rule, gp_task["id"])

    patch_task(nurse, gp_task["id"], {"responsible_organisation_id": make_org("gp_practice").id})
    assert scan(session, rule, soon)["resolved"] == 1


# --- readmitted_within_30_days ------------------------------------------------------------------


def test_readmission_within_30_days_flagged_while_recent(session, nurse, make_patient, ward):
    now = utcnow().replace(microsecond=0)
    discharged = now - timedelta(days=40)
    patient, other = make_patient(nurse=nurse), make_patient(nurse=nurse)
    stay(nurse, patient, ward, iso(discharged - timedelta(days=5)), iso(discharged))
    readmitted = stay(nurse, patient, ward, iso(discharged + timedelta(days=30)))
    stay(nurse, other, ward, iso(discharged - timedelta(days=5)), iso(discharged))
    # One minute past the 30 days: not a readmission.
    stay(nurse, other, ward, iso(discharged + timedelta(days=30) + MINUTE))
    rule = "readmitted_within_30_days"

    assert scan(session, rule, now)["opened"] == 1
    (flag,) = live(session, rule)
    assert (flag.subject_id, flag.patient_id) == (readmitted["id"], patient.id)
    began = datetime.fromisoformat(readmitted["admitted_at"])
    assert scan(session, rule, began + timedelta(days=30))["still_open"] == 1
    # A month after the readmission the flag has served its purpose.
    assert scan(session, rule, began + timedelta(days=30) + MINUTE)["resolved"] == 1


# --- dual_admission -----------------------------------------------------------------------------


def test_dual_admission_flagged_on_the_psychiatric_stay_until_both_stays_end(
    session, nurse, make_patient, ward, somatic_ward
):
    now = utcnow().replace(microsecond=0)
    patient, other = make_patient(nurse=nurse), make_patient(nurse=nurse)
    psych = stay(nurse, patient, ward, iso(now - timedelta(days=5)))
    somatic = stay(nurse, patient, somatic_ward, iso(now - timedelta(days=3)))
    # Just inside: the somatic stay begins the moment the psychiatric one ends.
    stay(nurse, other, ward, iso(now - timedelta(days=5)), iso(now - timedelta(days=3)))
    stay(nurse, other, somatic_ward, iso(now - timedelta(days=3)))
    rule = "dual_admission"

    assert scan(session, rule)["opened"] == 1
    (flag,) = live(session, rule)
    assert (flag.subject_id, flag.patient_id) == (psych["id"], patient.id)
    moved = iso(now - timedelta(days=1))
    assert discharge(nurse, psych["id"], at=moved, destination="other_hospital").status_code == 200
    assert scan(session, rule)["still_open"] == 1  # still in the somatic ward
    assert discharge(nurse, somatic["id"], at=iso(now)).status_code == 200
    assert scan(session, rule)["resolved"] == 1


# --- plan_review_overdue ------------------------------------------------------------------------


def _kip(actor, admission_id: int, agreed_on, review_on, municipality) -> dict:
    r = actor.post(
        f"/api/v1/admissions/{admission_id}/statutory-plans",
        json={
            "kind": "kip",
            "patient_took_part": True,
            "agreed_on": agreed_on.isoformat(),
            "next_review_date": review_on.isoformat(),
            "efforts": [
                {"description": "Bostøtte", "responsible_organisation_id": municipality().id}
            ],
        },
    )
    assert r.status_code == 201, r.json
    return r.json


def test_plan_review_overdue_after_its_review_date_until_a_new_plan_replaces_it(
    session, nurse, make_patient, ward, municipality
):
    today = utcnow().astimezone(COPENHAGEN).date()
    patient = make_patient(nurse=nurse)
    first = stay(nurse, patient, ward, "2026-03-01T10:00:00+01:00", "2026-03-10T10:00:00+01:00")
    plan = _kip(nurse, first["id"], today - timedelta(days=30), today, municipality)
    end_of_today = datetime(today.year, today.month, today.day, 23, 59, tzinfo=COPENHAGEN)
    rule = "plan_review_overdue"

    assert scan(session, rule, end_of_today)["opened"] == 0  # due today: not yet overdue
    assert scan(session, rule, end_of_today + 2 * MINUTE)["opened"] == 1
    (flag,) = live(session, rule)
    assert (flag.subject_type, flag.subject_id, flag.patient_id) == (
        "statutory_plan",
        plan["id"],
        patient.id,
    )

    second = stay(nurse, patient, ward, "2026-04-01T10:00:00+02:00")
    _kip(nurse, second["id"], today, today + timedelta(days=60), municipality)
    assert scan(session, rule, end_of_today + 3 * MINUTE)["resolved"] == 1
