"""The patient timeline: one chronological list from every registered source."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from bridge.domain.care.models import (
    Admission,
    Destination,
    FollowUpStatus,
    FollowUpTask,
    StatutoryPlan,
    StatutoryPlanKind,
)
from bridge.domain.care.models import ResponsibleKind as Kind
from bridge.domain.gaps.models import Flag, FlagStatus
from bridge.domain.meetings.models import (
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.patients.models import Consent, ConsentScope, Enrollment, Patient
from bridge.domain.registry.models import Organisation, OrganisationKind, Specialty, Staff
from bridge.domain.timeline import (
    PATIENT_ID,
    TimelineItem,
    register_timeline_query,
    timeline_select,
    timeline_sources,
)
from tests.support.care import admit, discharge


def test_timeline_shows_the_course_in_time_order(make_actor, make_patient, make_org):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    ward = make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)
    nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={
            "recipient_kind": "gp_practice",
            "scope": "all",
            "given_at": "2026-01-10T09:00:00+01:00",
        },
    )
    admission = admit(nurse, patient, ward, at="2026-03-20T10:00:00+01:00").json
    discharge(nurse, admission["id"], at="2026-03-27T23:30:00+01:00")
    tasks = nurse.get(f"/api/v1/follow-ups?patient={patient.id}").json["items"]
    kommune_task = next(t for t in tasks if t["responsible_kind"] == "municipality")
    nurse.post(f"/api/v1/follow-ups/{kommune_task['id']}/complete", json={})

    r = nurse.get(f"/api/v1/patients/{patient.id}/timeline")
    assert r.status_code == 200, r.json
    items = r.json
    types = [i["type"] for i in items]
    assert types[:4] == ["enrollment_started", "consent_given", "admission", "discharge"]
    assert types.count("follow_up_due") == 5
    assert types[-1] == "follow_up_done"  # done today, after every March deadline
    moments = [datetime.fromisoformat(i["at"]) for i in items]
    assert moments == sorted(moments)
    # The March deadlines have passed: open ones are overdue, the done one is not.
    due = [i for i in items if i["type"] == "follow_up_due"]
    assert {i["status"] for i in due if i["overdue"]} == {"open"}
    assert [i["overdue"] for i in due if i["resource_id"] == kommune_task["id"]] == [False]
    discharge_item = next(i for i in items if i["type"] == "discharge")
    assert (discharge_item["resource"], discharge_item["resource_id"]) == (
        "admission",
        admission["id"],
    )


def test_timeline_is_as_private_as_the_patient(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    outsider = make_actor("gp")
    assert outsider.get(f"/api/v1/patients/{patient.id}/timeline").status_code == 404


def _history(session, patient, ward, staff_id: int, n: int) -> None:
    """n stays, each with a discharge, two tasks (one done) and a consent."""
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for i in range(n):
        at = start + timedelta(days=10 * i)
        stay = Admission(
            patient_id=patient.id,
            department_id=ward.id,
            specialty=Specialty.PSYCHIATRY,
            acute=True,
            admitted_at=at,
            discharged_at=at + timedelta(days=2),
            destination=Destination.HOME,
        )
        session.add(stay)
        session.flush()
        session.add_all(
            [
                FollowUpTask(
                    patient_id=patient.id,
                    admission_id=stay.id,
                    title="Kontakt",
                    responsible_kind=Kind.MUNICIPALITY,
                    responsible_organisation_id=patient.municipality_id,
                    due_at=at + timedelta(days=3),
                    status=FollowUpStatus.OPEN,
                ),
                FollowUpTask(
                    patient_id=patient.id,
                    admission_id=stay.id,
                    title="Læge",
                    responsible_kind=Kind.GP,
                    due_at=at + timedelta(days=7),
                    status=FollowUpStatus.DONE,
                    done_at=at + timedelta(days=6),
                    done_by_id=staff_id,
                ),
                Consent(
                    patient_id=patient.id,
                    recipient_kind=OrganisationKind.GP_PRACTICE,
                    scope=ConsentScope.MINUTES,
                    given_at=at,
                    withdrawn_at=at + timedelta(days=1),
                ),
            ]
        )
        _meeting_and_flags(session, patient, staff_id, at + timedelta(days=4), i)
    session.commit()


def _meeting_and_flags(session, patient, staff_id: int, at: datetime, i: int) -> None:
    """A held meeting with final minutes and an amendment, an open flag and a resolved one."""
    meeting = NetworkMeeting(
        patient_id=patient.id,
        organiser_id=staff_id,
        status=MeetingStatus.HELD,
        scheduled_start=at,
        scheduled_end=at + timedelta(hours=1),
        held_at=at,
    )
    session.add(meeting)
    session.flush()
    for version_no in (1, 2):
        session.add(
            MinutesVersion(
                meeting_id=meeting.id,
                version_no=version_no,
                status=MinutesStatus.FINAL,
                summary="Status",
                created_by_id=staff_id,
                finalised_at=at + timedelta(hours=version_no),
                finalised_by_id=staff_id,
            )
        )
    for status in (FlagStatus.OPEN, FlagStatus.RESOLVED):
        session.add(
            Flag(
                rule="gp_minutes_not_received",
                patient_id=patient.id,
                subject_type="meeting",
                subject_id=meeting.id * 10 + (status == FlagStatus.RESOLVED),
                severity=2,
                message_da="Egen læge har ikke kvitteret for referatet",
                message_en="The GP has not acknowledged the minutes",
                status=status,
                first_detected_at=at + timedelta(days=1),
                last_seen_at=at + timedelta(days=1),
            )
        )


def test_timeline_of_a_long_history_runs_a_constant_number_of_statements(
    session, make_actor, make_patient, make_org, count_queries
):
    nurse = make_actor("nurse")
    ward = make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)
    short, long = make_patient(nurse=nurse), make_patient(nurse=nurse)
    _history(session, short, ward, nurse.id, 1)
    _history(session, long, ward, nurse.id, 60)
    short_id, long_id = short.id, long.id  # reloaded after the commit, before counting

    with count_queries() as few:
        small = nurse.get(f"/api/v1/patients/{short_id}/timeline").json
    with count_queries() as many:
        big = nurse.get(f"/api/v1/patients/{long_id}/timeline").json
    # 60 x (admission, discharge, 2 due, 1 done, given, withdrawn, meeting, 2 minutes, flag) + 1
    assert len(big) == 60 * 11 + 1
    assert len(small) == 12
    assert many.count == few.count
    # Token with roles, access check, ONE query for every source together, audit write: nothing
    # grows with the history or with the number of sources.
    assert sum("UNION ALL" in s for s in many.statements) == 1, many.statements
    assert many.count == 4, many.statements
    assert len(timeline_sources()) >= 8  # enrollments, consents and the other areas' six


def test_other_areas_plug_sources_into_the_timeline(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    # Another area's source: its SELECT of the timeline's row shape, and its items per row.
    query = timeline_select(id=Patient.id, at=Patient.created_at).where(Patient.id == PATIENT_ID)

    def meetings(row, now):
        at = datetime(2026, 2, 1, 9, tzinfo=UTC)
        return [TimelineItem("meeting", at, "Netværksmøde", "planned", "meeting", 7)]

    register_timeline_query(query)(meetings)
    try:
        items = nurse.get(f"/api/v1/patients/{patient.id}/timeline").json
        assert {"type": "meeting", "resource_id": 7} in [
            {"type": i["type"], "resource_id": i["resource_id"]} for i in items
        ]
    finally:
        from bridge.domain import timeline

        timeline._sources[:] = [s for s in timeline._sources if s.items is not meetings]


def test_timeline_shows_meetings_minutes_and_open_flags(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    at = datetime(2026, 2, 2, 9, tzinfo=UTC)
    _meeting_and_flags(session, patient, nurse.id, at, 0)
    cancelled = NetworkMeeting(
        patient_id=patient.id,
        organiser_id=nurse.id,
        status=MeetingStatus.CANCELLED,
        scheduled_start=at + timedelta(days=7),
        scheduled_end=at + timedelta(days=7, hours=1),
        cancel_reason="syg",
    )
    session.add(cancelled)
    session.commit()

    items = nurse.get(f"/api/v1/patients/{patient.id}/timeline").json

    got = [(i["type"], i["status"]) for i in items if i["type"] != "enrollment_started"]
    assert got == [
        ("meeting", "held"),
        ("minutes_final", "final"),
        ("minutes_amended", "amended"),
        ("flag", "open"),  # the resolved flag is history, not on the timeline
        ("meeting", "cancelled"),
    ]
    flag = next(i for i in items if i["type"] == "flag")
    assert flag["title"] == "Egen læge har ikke kvitteret for referatet"
    assert flag["resource"] == "flag"


def _every_kind(session, patient, ward, staff_id: int) -> None:
    """In 2019-2020: one item of every kind a source makes, for comparing the databases."""
    _history(session, patient, ward, staff_id, 1)  # a stay in January 2020 and what follows it
    stay = session.scalar(select(Admission).where(Admission.patient_id == patient.id))
    stay.acute = False
    session.add_all(
        [
            Enrollment(
                patient_id=patient.id,
                nurse_id=staff_id,
                start_date=date(2019, 3, 1),
                end_date=date(2019, 9, 30),
                reason="Tidligere forløb",
            ),
            StatutoryPlan(
                admission_id=stay.id,
                kind=StatutoryPlanKind.KOORDINATIONSPLAN,
                agreed_on=date(2020, 1, 2),
                patient_took_part=False,
            ),
            NetworkMeeting(
                patient_id=patient.id,
                organiser_id=staff_id,
                status=MeetingStatus.REQUESTED,
                requested_at=datetime(2020, 2, 1, 8, tzinfo=UTC),
                hold_by=datetime(2020, 2, 15, tzinfo=UTC),
                place="Rådhuset",
            ),
        ]
    )
    session.commit()


def _in_2019_and_2020(items: list[dict]) -> list[tuple]:
    # Ids differ between databases; the rest of each item must not.
    return [
        (i["type"], i["at"], i["title"], i["status"], i["resource"], i["overdue"])
        for i in items
        if i["at"] < "2021"
    ]


def _every_kind_expected(ward_name: str) -> list[tuple]:
    return [
        ("enrollment_started", "2019-03-01T00:00:00+01:00",
         "Forløb hos brobyggersygeplejerske startet", "ended", "enrollment", False),
        ("enrollment_ended", "2019-09-30T00:00:00+02:00", "Forløb afsluttet", "ended",
         "enrollment", False),
        ("admission", "2020-01-01T01:00:00+01:00", f"Indlagt (planlagt) på {ward_name}",
         "discharged", "admission", False),
        ("consent_given", "2020-01-01T01:00:00+01:00", "Samtykke givet (minutes)", "withdrawn",
         "consent", False),
        ("statutory_plan", "2020-01-02T00:00:00+01:00", "Plan: koordinationsplan", None,
         "statutory_plan", False),
        ("consent_withdrawn", "2020-01-02T01:00:00+01:00",
         "Samtykke trukket tilbage (minutes)", "withdrawn", "consent", False),
        ("discharge", "2020-01-03T01:00:00+01:00", f"Udskrevet fra {ward_name}", "home",
         "admission", False),
        ("follow_up_due", "2020-01-04T01:00:00+01:00", "Kontakt", "open", "follow_up", True),
        ("meeting", "2020-01-05T01:00:00+01:00", "Netværksmøde afholdt", "held", "meeting",
         False),
        ("minutes_final", "2020-01-05T02:00:00+01:00", "Referat endeligt", "final",
         "minutes_version", False),
        ("minutes_amended", "2020-01-05T03:00:00+01:00", "Referat rettet (version 2)",
         "amended", "minutes_version", False),
        ("flag", "2020-01-06T01:00:00+01:00", "Egen læge har ikke kvitteret for referatet",
         "open", "flag", False),
        ("follow_up_done", "2020-01-07T01:00:00+01:00", "Læge", "done", "follow_up", False),
        ("follow_up_due", "2020-01-08T01:00:00+01:00", "Læge", "done", "follow_up", False),
        ("meeting", "2020-02-01T09:00:00+01:00", "Netværksmøde ønsket (Rådhuset)", "requested",
         "meeting", True),
    ]  # fmt: skip


def test_every_kind_of_item_on_postgresql(session, make_actor, make_patient, make_org):
    nurse = make_actor("nurse")
    ward = make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)
    patient = make_patient(nurse=nurse)
    _every_kind(session, patient, ward, nurse.id)
    items = nurse.get(f"/api/v1/patients/{patient.id}/timeline").json
    assert _in_2019_and_2020(items) == _every_kind_expected(ward.name)


def test_every_kind_of_item_on_sqlite(sqlite_demo):
    # The demo runs on SQLite: the one UNION ALL must type its columns the same way there.
    app, _, output = sqlite_demo
    token = re.search(r"^\s+nurse:nurse.anna\s+(brg_\S+)$", output, re.M).group(1)
    nurse = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    patient_id = client.get("/api/v1/patients?limit=1", headers=nurse).json["items"][0]["id"]
    with app.app_context():
        from bridge.extensions import db

        staff_id = db.session.scalar(select(Staff.id).where(Staff.email.startswith("nurse.anna")))
        ward = Organisation(
            kind=OrganisationKind.HOSPITAL_DEPARTMENT,
            name="Afsnit T",
            specialty=Specialty.PSYCHIATRY,
        )
        db.session.add(ward)
        db.session.flush()
        _every_kind(db.session, db.session.get(Patient, patient_id), ward, staff_id)
        db.session.remove()
    items = client.get(f"/api/v1/patients/{patient_id}/timeline", headers=nurse).json
    assert _in_2019_and_2020(items) == _every_kind_expected("Afsnit T")
