"""Discharges and follow-up tasks reach the GP and the task owners; overdue GP tasks remind once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bridge.bootstrap import scheduled_jobs
from bridge.config import Settings
from bridge.domain.base import utcnow
from bridge.domain.care.models import Admission, FollowUpStatus, FollowUpTask, ResponsibleKind
from bridge.domain.care.notify import notify_discharge
from bridge.domain.care.reminders import remind_overdue_gp_tasks
from bridge.domain.notifications.models import Channel, Notification
from bridge.domain.registry.models import OrganisationKind, Specialty
from tests.support.care import admit, discharge

GP_TASK = "Konsultation hos egen læge"


@pytest.fixture
def nurse(make_actor):
    return make_actor("nurse")


@pytest.fixture
def gp_org(make_org):
    return make_org("gp_practice")


@pytest.fixture
def gp(make_actor, gp_org):
    return make_actor("gp", organisation=gp_org)


@pytest.fixture
def ward(make_org):
    return make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)


def inbox_rows(session, org_id: int, kind: str | None = None) -> list[Notification]:
    session.expire_all()
    stmt = select(Notification).where(
        Notification.recipient_organisation_id == org_id, Notification.channel == Channel.INBOX
    )
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(session.scalars(stmt.order_by(Notification.id)))


def discharged(nurse, patient, ward, **extra) -> dict:
    admission = admit(nurse, patient, ward, at="2026-03-02T10:00:00+01:00").json
    r = discharge(nurse, admission["id"], at="2026-03-03T10:00:00+01:00", **extra)
    assert r.status_code == 200, r.json
    return admission


def test_discharge_notifies_the_gp_once_with_the_gp_tasks(
    session, nurse, gp, gp_org, ward, make_patient
):
    patient = make_patient(nurse=nurse, gp=gp_org)
    admission = discharged(nurse, patient, ward, discharge_summary="Stabil, ny medicin")

    [item] = [i for i in gp.get("/api/v1/inbox").json["items"] if i["ref"]["type"] == "admission"]
    assert item["subject"] == "Udskrivelse"
    assert item["ref"]["id"] == admission["id"]
    assert item["link"] == f"/api/v1/admissions/{admission['id']}"
    assert GP_TASK in item["body"]
    assert "Kommunens kontakt" not in item["body"]  # the municipality's task, not the GP's
    assert "Stabil, ny medicin" in item["body"]
    # Discharging again is refused, and no second notification appears.
    again = discharge(nurse, admission["id"], at="2026-03-03T10:00:00+01:00")
    assert again.status_code == 409
    assert len(inbox_rows(session, gp_org.id, "discharge")) == 1
    # Repeating the enqueue itself (a retried job, a second caller) adds nothing either.
    stay = session.get(Admission, admission["id"])
    tasks = list(session.scalars(select(FollowUpTask).where(FollowUpTask.admission_id == stay.id)))
    assert notify_discharge(session, stay, tasks) == []
    assert len(inbox_rows(session, gp_org.id, "discharge")) == 1


def test_the_gps_message_carries_at_most_1500_characters_of_the_summary(
    nurse, gp, gp_org, ward, make_patient
):
    patient = make_patient(nurse=nurse, gp=gp_org)
    discharged(nurse, patient, ward, discharge_summary="  " + "x" * 3998)
    [item] = [i for i in gp.get("/api/v1/inbox").json["items"] if i["ref"]["type"] == "admission"]
    assert "x" * 1500 in item["body"]
    assert "x" * 1501 not in item["body"]


def test_each_organisation_hears_of_its_own_tasks(session, nurse, gp_org, ward, make_patient):
    patient = make_patient(nurse=nurse, gp=gp_org)
    discharged(nurse, patient, ward)
    tasks = nurse.get(f"/api/v1/follow-ups?patient={patient.id}&limit=50").json["items"]
    by_owner: dict[int, set[str]] = {}
    for t in tasks:
        if t["responsible_kind"] != "nurse" and t["responsible_organisation_id"]:
            by_owner.setdefault(t["responsible_organisation_id"], set()).add(t["title"])

    for org_id in by_owner:
        got = inbox_rows(session, org_id, "task_assigned")
        assert {n.payload["ref"]["id"] for n in got} == {
            t["id"] for t in tasks if t["responsible_organisation_id"] == org_id
        }
        assert all(n.source_type == "follow_up_task" for n in got)
    assert GP_TASK in by_owner[gp_org.id]
    assert patient.municipality_id in by_owner
    # The nurse's own task is hers to read in Bridge: no message to her region.
    nurse_task = next(t for t in tasks if t["responsible_kind"] == "nurse")
    assert not session.scalars(
        select(Notification).where(
            Notification.source_type == "follow_up_task",
            Notification.source_id == nurse_task["id"],
        )
    ).all()


def test_a_patient_not_in_a_course_is_discharged_without_notifications(
    session, gp_org, ward, make_patient, make_actor
):
    patient = make_patient(gp=gp_org)  # not enrolled with a bridge nurse
    hospital = make_actor("hospital", organisation=ward)

    discharged(hospital, patient, ward)

    assert inbox_rows(session, gp_org.id) == []


def test_a_death_in_hospital_sends_no_discharge_message(session, nurse, gp_org, ward, make_patient):
    patient = make_patient(nurse=nurse, gp=gp_org)
    discharged(nurse, patient, ward, destination="deceased")

    assert inbox_rows(session, gp_org.id) == []


def test_a_non_treating_owner_hears_of_a_task_only_with_discharge_consent(
    session, nurse, gp_org, ward, make_patient, make_org
):
    patient = make_patient(nurse=nurse, gp=gp_org)
    discharged(nurse, patient, ward)
    facility = make_org("social_psychiatry_facility")
    tasks = nurse.get(f"/api/v1/follow-ups?patient={patient.id}&limit=50").json["items"]
    task = next(t for t in tasks if t["responsible_kind"] == "municipality")

    def reassign(task_id: int, org_id: int):
        etag = nurse.get(f"/api/v1/follow-ups/{task_id}").headers["ETag"]
        r = nurse.patch(
            f"/api/v1/follow-ups/{task_id}",
            json={"responsible_organisation_id": org_id},
            headers={"If-Match": etag},
        )
        assert r.status_code == 200, r.json

    reassign(task["id"], facility.id)
    assert inbox_rows(session, facility.id) == []

    r = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_organisation_id": facility.id, "scope": "discharge"},
    )
    assert r.status_code == 201, r.json
    reassign(task["id"], patient.municipality_id)
    reassign(task["id"], facility.id)
    [note] = inbox_rows(session, facility.id, "task_assigned")
    assert note.payload["ref"]["id"] == task["id"]


# --- reminders for overdue GP tasks -------------------------------------------------------------


def _gp_tasks(session, patient, n: int, due_at: datetime) -> list[FollowUpTask]:
    tasks = [
        FollowUpTask(
            patient_id=patient.id,
            title=f"Opgave {i}",
            responsible_kind=ResponsibleKind.GP,
            responsible_organisation_id=patient.gp_practice_id,
            due_at=due_at,
            status=FollowUpStatus.OPEN,
        )
        for i in range(n)
    ]
    session.add_all(tasks)
    session.commit()
    return tasks


def test_overdue_gp_tasks_are_reminded_once_each(session, nurse, gp, gp_org, make_patient):
    patient = make_patient(nurse=nurse, gp=gp_org)
    now = utcnow()
    overdue = _gp_tasks(session, patient, 3, now - timedelta(days=2))
    [later] = _gp_tasks(session, patient, 1, now + timedelta(days=2))  # not yet due
    done = _gp_tasks(session, patient, 1, now - timedelta(days=2))[0]
    done.status, done.done_at, done.done_by_id = FollowUpStatus.DONE, now, nurse.id
    session.commit()

    first = remind_overdue_gp_tasks(session, now)
    second = remind_overdue_gp_tasks(session, now + timedelta(hours=1))
    third = remind_overdue_gp_tasks(session, now + timedelta(days=3))

    assert first.reminded == 3
    assert second.reminded == 0
    assert third.reminded == 1  # only the task that has since run over
    reminders = [
        i for i in gp.get("/api/v1/inbox?limit=50").json["items"] if i["subject"].startswith("Påm")
    ]
    assert sorted(i["ref"]["id"] for i in reminders) == sorted(t.id for t in [*overdue, later])
    assert done.id not in {i["ref"]["id"] for i in reminders}
    # A reminder says and links to the same as the task's assignment message.
    assert all(i["link"] == f"/api/v1/follow-ups/{i['ref']['id']}" for i in reminders)
    assert all("Opgave" in i["body"] and "frist" in i["body"] for i in reminders)


def test_a_re_dated_task_that_runs_over_again_is_reminded_again(
    session, nurse, gp_org, make_patient
):
    patient = make_patient(nurse=nurse, gp=gp_org)
    now = utcnow()
    [task] = _gp_tasks(session, patient, 1, now - timedelta(days=1))
    assert remind_overdue_gp_tasks(session, now).reminded == 1
    task.due_at = now + timedelta(days=1)
    session.commit()

    assert remind_overdue_gp_tasks(session, now + timedelta(hours=2)).reminded == 0
    assert remind_overdue_gp_tasks(session, now + timedelta(days=2)).reminded == 1


def test_reminders_run_a_constant_number_of_statements(
    session, make_actor, make_org, make_patient, count_queries
):
    nurse = make_actor("nurse")
    now = datetime.now(UTC)
    few_gp, many_gp = make_org("gp_practice"), make_org("gp_practice")
    _gp_tasks(session, make_patient(nurse=nurse, gp=few_gp), 1, now - timedelta(days=1))
    with count_queries() as few:
        assert remind_overdue_gp_tasks(session, now).reminded == 1
    for _ in range(5):
        _gp_tasks(session, make_patient(nurse=nurse, gp=many_gp), 8, now - timedelta(days=1))
    with count_queries() as many:
        assert remind_overdue_gp_tasks(session, now).reminded == 40
    assert many.count == few.count, many.statements


def test_the_reminder_job_is_scheduled_hourly():
    [job] = [j for j in scheduled_jobs(Settings()) if j.name == "overdue_task_reminders"]
    env, seconds = job.interval_setting, job.seconds
    assert (env, seconds) == ("BRIDGE_REMINDER_SECONDS", 3600)


def test_the_gps_message_names_the_working_day_the_task_ends(nurse, gp, gp_org, ward, make_patient):
    patient = make_patient(nurse=nurse, gp=gp_org)
    admission = admit(nurse, patient, ward, at="2026-11-16T10:00:00+01:00").json
    assert discharge(nurse, admission["id"], at="2026-11-19T14:00:00+01:00").status_code == 200
    [task] = [
        t
        for t in nurse.get(f"/api/v1/follow-ups?patient={patient.id}&limit=50").json["items"]
        if t["title"] == GP_TASK
    ]
    day = date.fromisoformat(task["due_on"])
    assert day.weekday() < 5 and task["due_at"] == f"{day + timedelta(days=1)}T00:00:00+01:00"
    weekday = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag"][day.weekday()]
    [item] = [i for i in gp.get("/api/v1/inbox").json["items"] if i["ref"]["type"] == "admission"]
    assert f"{GP_TASK} (frist {weekday} {day:%d.%m.%Y})" in item["body"]
    assert f"{day + timedelta(days=1):%d.%m.%Y}" not in item["body"]
