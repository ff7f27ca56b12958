"""Follow-up plans after discharge: deadlines, owners, and who may work which task."""

from __future__ import annotations

from sqlalchemy import select

from bridge.domain.care.models import FollowUpTemplate
from bridge.domain.care.templates import DEFAULT_TEMPLATES, seed_follow_up_templates
from bridge.domain.registry.models import Organisation, OrganisationKind, Specialty
from tests.support.care import (
    FMK,
    GP,
    MUNICIPALITY,
    NETWORK,
    OUTPATIENT,
    PSYCH_NURSE,
    REHAB,
    plan_after,
)

# A psychiatric stay most tests discharge from: plans fall in the same working days.
NOVEMBER_STAY = {"admitted": "2026-11-02T10:00:00+01:00", "discharged": "2026-11-06T14:00:00+01:00"}


def test_discharge_at_2330_on_the_friday_before_easter_across_dst(
    make_actor, make_patient, department
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    # Friday 27 March 2026, 23:30 CET; summer time starts Sunday 29 March; Easter is 2-6 April.
    tasks = plan_after(
        nurse,
        patient,
        department(),
        admitted="2026-03-20T10:00:00+01:00",
        discharged="2026-03-27T23:30:00+01:00",
    )
    due = {title: t["due_at"] for title, t in tasks.items()}
    assert due == {
        # 72 elapsed hours: the lost DST hour shows on the wall clock.
        PSYCH_NURSE: "2026-03-31T00:30:00+02:00",
        MUNICIPALITY: "2026-03-31T00:00:00+02:00",  # end of Monday 30 March
        FMK: "2026-04-01T00:00:00+02:00",  # end of Tuesday 31 March
        GP: "2026-04-09T00:00:00+02:00",  # 30, 31 Mar, 1, 7, 8 Apr: Easter skipped
        OUTPATIENT: "2026-04-16T00:00:00+02:00",
    }
    assert tasks[MUNICIPALITY]["responsible_organisation_id"] == patient.municipality_id
    assert tasks[GP]["responsible_organisation_id"] == patient.gp_practice_id
    assert tasks[PSYCH_NURSE]["responsible_staff_id"] == nurse.id
    assert all(t["status"] == "open" for t in tasks.values())


def test_deadlines_skip_christmas_but_not_christmas_eve(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    ward = department()
    tasks = plan_after(
        nurse,
        make_patient(nurse=nurse),
        ward,
        admitted="2025-12-15T10:00:00+01:00",
        discharged="2025-12-23T10:00:00+01:00",
        destination="other_hospital",
    )
    assert tasks == {}  # a transfer starts no plan; the final discharge will
    tasks = plan_after(
        nurse,
        make_patient(nurse=nurse),
        ward,
        admitted="2025-12-15T10:00:00+01:00",
        discharged="2025-12-23T10:00:00+01:00",
    )
    assert {title: t["due_at"] for title, t in tasks.items() if title != PSYCH_NURSE} == {
        MUNICIPALITY: "2025-12-25T00:00:00+01:00",  # 24 December is a working day
        FMK: "2025-12-30T00:00:00+01:00",  # then 25, 26 and the weekend are skipped
        GP: "2026-01-03T00:00:00+01:00",  # 24, 29, 30, 31 Dec, 2 Jan (New Year's Day skipped)
        OUTPATIENT: "2026-01-10T00:00:00+01:00",
    }
    assert tasks[FMK]["responsible_organisation_id"] == ward.id


def test_somatic_discharge_on_a_friday_skips_the_weekend(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    tasks = plan_after(
        nurse,
        make_patient(nurse=nurse),
        department(Specialty.SOMATIC),
        **NOVEMBER_STAY,
        rehabilitation_plan_issued=True,
    )
    assert {title: t["due_at"] for title, t in tasks.items()} == {
        MUNICIPALITY: "2026-11-10T00:00:00+01:00",
        FMK: "2026-11-11T00:00:00+01:00",
        GP: "2026-11-14T00:00:00+01:00",
        REHAB: "2026-11-14T00:00:00+01:00",
    }


def test_conditional_tasks_follow_the_discharge(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    somatic = plan_after(
        nurse,
        make_patient(nurse=nurse),
        department(Specialty.SOMATIC),
        **NOVEMBER_STAY,
    )
    assert REHAB not in somatic
    to_facility = plan_after(
        nurse,
        make_patient(nurse=nurse),
        department(),
        **NOVEMBER_STAY,
        destination="housing_facility",
        network_meeting_requested=True,
    )
    assert PSYCH_NURSE in to_facility  # a housing facility is the resident's home
    assert to_facility[NETWORK]["due_at"] == "2026-11-14T00:00:00+01:00"
    assert to_facility[NETWORK]["responsible_kind"] == "nurse"


def test_unenrolled_patient_gets_no_plan(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    patient = make_patient(registered_by_id=nurse.id)
    assert (
        plan_after(
            nurse,
            patient,
            department(),
            **NOVEMBER_STAY,
        )
        == {}
    )


def test_patient_without_gp_still_gets_a_gp_task_without_owner(
    make_actor, make_patient, department
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse, gp_practice_id=None)
    tasks = plan_after(
        nurse,
        patient,
        department(),
        **NOVEMBER_STAY,
    )
    assert tasks[GP]["responsible_kind"] == "gp"
    assert tasks[GP]["responsible_organisation_id"] is None


def test_municipality_completes_its_own_task_but_not_the_gps(
    make_actor, make_patient, make_org, department, municipality
):
    nurse = make_actor("nurse")
    practice = make_org(OrganisationKind.GP_PRACTICE)
    patient = make_patient(nurse=nurse, gp=practice)
    tasks = plan_after(
        nurse,
        patient,
        department(),
        **NOVEMBER_STAY,
    )
    kommune = make_actor("municipality", organisation=municipality("0101"))
    r = kommune.post(f"/api/v1/follow-ups/{tasks[GP]['id']}/complete", json={})
    assert r.status_code == 403
    r = kommune.post(
        f"/api/v1/follow-ups/{tasks[MUNICIPALITY]['id']}/complete",
        json={"note": "Hjemmebesøg aflagt"},
    )
    assert r.status_code == 200, r.json
    assert r.json["status"] == "done"
    assert r.json["done_by_id"] == kommune.id
    assert r.json["done_note"] == "Hjemmebesøg aflagt"
    again = kommune.post(f"/api/v1/follow-ups/{tasks[MUNICIPALITY]['id']}/complete", json={})
    assert again.status_code == 409
    # The municipality may not re-date or cancel anything: that is the nurse's.
    patch = kommune.patch(
        f"/api/v1/follow-ups/{tasks[FMK]['id']}",
        json={"due_at": "2026-12-01T12:00:00+01:00"},
        headers={"If-Match": "*"},
    )
    assert patch.status_code == 403
    gp = make_actor("gp", organisation=practice)
    assert gp.post(f"/api/v1/follow-ups/{tasks[GP]['id']}/complete", json={}).status_code == 200


def test_the_list_is_a_worklist_of_open_tasks_unless_asked_otherwise(
    make_actor, make_patient, municipality, department
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    tasks = plan_after(
        nurse,
        patient,
        department(),
        **NOVEMBER_STAY,
    )
    done_id = tasks[MUNICIPALITY]["id"]
    kommune = make_actor("municipality", organisation=municipality("0101"))
    assert kommune.post(f"/api/v1/follow-ups/{done_id}/complete", json={}).status_code == 200

    def listed(query: str = "") -> dict[int, str]:
        r = nurse.get(f"/api/v1/follow-ups?limit=200&patient={patient.id}{query}")
        assert r.status_code == 200, r.json
        return {t["id"]: t["status"] for t in r.json["items"]}

    everything = listed("&status=any")
    assert everything[done_id] == "done" and len(everything) == len(tasks)
    assert listed() == {i: s for i, s in everything.items() if s == "open"}
    assert listed("&status=open") == listed()
    assert listed("&status=done") == {done_id: "done"}
    refused = nurse.get("/api/v1/follow-ups?status=all")
    assert refused.status_code == 422 and "status" in refused.json["errors"]


def test_gp_cannot_see_another_practices_patients_tasks(
    make_actor, make_patient, make_org, department
):
    nurse = make_actor("nurse")
    mine, theirs = make_org(OrganisationKind.GP_PRACTICE), make_org(OrganisationKind.GP_PRACTICE)
    own_patient = make_patient(nurse=nurse, gp=mine)
    other_patient = make_patient(nurse=nurse, gp=theirs)
    plan_after(nurse, own_patient, department(), **NOVEMBER_STAY)
    others = plan_after(nurse, other_patient, department(), **NOVEMBER_STAY)
    gp = make_actor("gp", organisation=mine)

    listed = gp.get("/api/v1/follow-ups?limit=200").json["items"]
    assert listed and {t["patient_id"] for t in listed} == {own_patient.id}
    assert gp.get(f"/api/v1/follow-ups?responsible={theirs.id}").json["items"] == []
    their_task = others[GP]["id"]
    assert gp.get(f"/api/v1/follow-ups/{their_task}").status_code == 404
    assert gp.post(f"/api/v1/follow-ups/{their_task}/complete", json={}).status_code == 404


def test_template_changes_affect_later_discharges_only(
    session, make_actor, make_patient, department, region
):
    nurse, admin = make_actor("nurse"), make_actor("admin")
    before = plan_after(nurse, make_patient(nurse=nurse), department(), **NOVEMBER_STAY)
    template_id = before[GP]["template_id"]
    current = admin.get(f"/api/v1/follow-up-templates/{template_id}")
    assert current.json["region_id"] == region.id
    r = admin.patch(
        f"/api/v1/follow-up-templates/{template_id}",
        json={"title": "Opfølgende konsultation hos egen læge", "deadline_working_days": 3},
        headers={"If-Match": current.headers["ETag"]},
    )
    assert r.status_code == 200, r.json

    after = plan_after(nurse, make_patient(nurse=nurse), department(), **NOVEMBER_STAY)
    assert after["Opfølgende konsultation hos egen læge"]["due_at"] == "2026-11-12T00:00:00+01:00"
    unchanged = nurse.get(f"/api/v1/follow-ups/{before[GP]['id']}").json
    assert (unchanged["title"], unchanged["due_at"]) == (GP, "2026-11-14T00:00:00+01:00")


def test_setting_one_kind_of_template_deadline_replaces_the_other(make_actor, region):
    admin = make_actor("admin")
    listed = admin.get(f"/api/v1/follow-up-templates?region_id={region.id}&limit=200").json
    hours_template = next(t for t in listed["items"] if t["title"] == PSYCH_NURSE)
    assert (hours_template["deadline_working_days"], hours_template["deadline_hours"]) == (None, 72)
    url = f"/api/v1/follow-up-templates/{hours_template['id']}"

    def patch(body):
        etag = admin.get(url).headers["ETag"]
        return admin.patch(url, json=body, headers={"If-Match": etag})

    r = patch({"deadline_working_days": 2})
    assert r.status_code == 200, r.json
    assert (r.json["deadline_working_days"], r.json["deadline_hours"]) == (2, None)
    r = patch({"deadline_hours": 48})
    assert r.status_code == 200, r.json
    assert (r.json["deadline_working_days"], r.json["deadline_hours"]) == (None, 48)
    # Clearing the only deadline, or giving both, leaves the template without a single one.
    for body in ({"deadline_hours": None}, {"deadline_working_days": 3, "deadline_hours": 24}):
        r = patch(body)
        assert r.status_code == 422, r.json
        assert "deadline_working_days" in r.json["errors"]
    r = admin.get(url).json
    assert (r["deadline_working_days"], r["deadline_hours"]) == (None, 48)


def test_only_admins_change_templates(make_actor, region):
    nurse, admin = make_actor("nurse"), make_actor("admin")
    body = {
        "region_id": region.id,
        "applies_to": "psychiatry",
        "condition": "always",
        "title": "Tandlægetid booket",
        "responsible_kind": "municipality",
        "deadline_working_days": 20,
    }
    assert nurse.post("/api/v1/follow-up-templates", json=body).status_code == 403
    both = admin.post("/api/v1/follow-up-templates", json={**body, "deadline_hours": 48})
    assert both.status_code == 422
    r = admin.post("/api/v1/follow-up-templates", json=body)
    assert r.status_code == 201, r.json
    listed = nurse.get(f"/api/v1/follow-up-templates?region_id={region.id}&limit=200").json
    assert r.json["id"] in [t["id"] for t in listed["items"]]


def test_seeding_templates_is_idempotent_and_gives_every_region_the_defaults(session):
    assert seed_follow_up_templates(session) == 0
    regions = session.scalars(
        select(Organisation.id).where(Organisation.kind == OrganisationKind.REGION)
    ).all()
    for region_id in regions:
        count = len(
            session.scalars(
                select(FollowUpTemplate).where(FollowUpTemplate.region_id == region_id)
            ).all()
        )
        assert count >= len(DEFAULT_TEMPLATES)


def test_nurse_adds_reassigns_redates_and_cancels_tasks(
    make_actor, make_patient, make_org, municipality
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    r = nurse.post(
        "/api/v1/follow-ups",
        json={
            "patient_id": patient.id,
            "title": "Somatisk screening hos egen læge",
            "responsible_kind": "gp",
            "responsible_organisation_id": patient.gp_practice_id,
            "due_at": "2026-12-01T12:00:00+01:00",
        },
    )
    assert r.status_code == 201, r.json
    task_id, etag = r.json["id"], r.headers["ETag"]
    url = f"/api/v1/follow-ups/{task_id}"
    assert nurse.patch(url, json={"due_at": "2026-12-02T12:00:00+01:00"}).status_code == 428
    frb = municipality("0147")
    r = nurse.patch(
        url,
        json={
            "responsible_kind": "municipality",
            "responsible_organisation_id": frb.id,
            "due_at": "2026-12-02T12:00:00+01:00",
        },
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.json
    assert r.json["responsible_organisation_id"] == frb.id
    assert r.json["due_at"] == "2026-12-02T12:00:00+01:00"
    stale = nurse.patch(
        url, json={"status": "cancelled", "cancel_reason": "x"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    etag = r.headers["ETag"]
    no_reason = nurse.patch(url, json={"status": "cancelled"}, headers={"If-Match": etag})
    assert no_reason.status_code == 422
    assert "cancel_reason" in no_reason.json["errors"]
    r = nurse.patch(
        url,
        json={"status": "cancelled", "cancel_reason": "Borgeren er flyttet"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["cancel_reason"]) == ("cancelled", "Borgeren er flyttet")
    done = nurse.patch(
        url, json={"due_at": "2026-12-03T12:00:00+01:00"}, headers={"If-Match": r.headers["ETag"]}
    )
    assert done.status_code == 409
    bad_status = nurse.patch(url, json={"status": "done"}, headers={"If-Match": "*"})
    assert bad_status.status_code == 422


def test_request_bodies_cannot_set_ids_or_status(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    r = nurse.post(
        "/api/v1/follow-ups",
        json={
            "id": 5,
            "status": "done",
            "patient_id": patient.id,
            "title": "x",
            "responsible_kind": "gp",
            "due_at": "2026-12-01T12:00:00+01:00",
        },
    )
    assert r.status_code == 422
    assert {"id", "status"} <= set(r.json["errors"])


def test_follow_up_list_pages_by_deadline_in_constant_statements(
    make_actor, make_patient, department, count_queries
):
    nurse = make_actor("nurse")
    ward = department()
    plan_after(nurse, make_patient(nurse=nurse), ward, **NOVEMBER_STAY)
    with count_queries() as few:
        assert nurse.get("/api/v1/follow-ups?limit=200").status_code == 200
    for _ in range(4):
        plan_after(nurse, make_patient(nurse=nurse), ward, **NOVEMBER_STAY)
    with count_queries() as many:
        full = nurse.get("/api/v1/follow-ups?limit=200").json["items"]
    assert many.count == few.count
    assert len(full) == 25

    seen, cursor = [], None
    while True:
        page = nurse.get("/api/v1/follow-ups?limit=7" + (f"&cursor={cursor}" if cursor else ""))
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert [t["id"] for t in seen] == [t["id"] for t in full]
    assert [t["due_at"] for t in full] == sorted(t["due_at"] for t in full)
    due_before = nurse.get("/api/v1/follow-ups?due_before=2026-11-11T00:00:00%2B01:00&limit=200")
    assert {t["title"] for t in due_before.json["items"]} == {PSYCH_NURSE, MUNICIPALITY}


def test_the_api_gives_the_day_a_deadline_ends_beside_the_stored_instant(
    make_actor, make_patient, department
):
    nurse = make_actor("nurse")
    # Thursday 19 November 2026: one working day ends on Friday 20 November.
    tasks = plan_after(
        nurse,
        make_patient(nurse=nurse),
        department(),
        admitted="2026-11-16T10:00:00+01:00",
        discharged="2026-11-19T14:00:00+01:00",
    )
    municipality = tasks[MUNICIPALITY]
    assert municipality["due_at"] == "2026-11-21T00:00:00+01:00"  # unchanged: overdue from then
    assert municipality["due_on"] == "2026-11-20"  # the Friday, not the Saturday
    # A deadline in hours ends on the day of its instant.
    assert tasks[PSYCH_NURSE]["due_on"] == tasks[PSYCH_NURSE]["due_at"][:10]


def test_municipalities_and_gps_list_the_open_tasks_of_their_patients_who_move_or_switch(
    make_actor, make_patient, make_org, municipality, department
):
    nurse = make_actor("nurse")
    old_gp_org, new_gp_org = (make_org(OrganisationKind.GP_PRACTICE) for _ in range(2))
    patient = make_patient(nurse=nurse, gp=old_gp_org)
    tasks = plan_after(
        nurse,
        patient,
        department(),
        **NOVEMBER_STAY,
    )
    old_home = make_actor("municipality", organisation=municipality("0101"))
    new_home_org = municipality("0147")
    new_home = make_actor("municipality", organisation=new_home_org)
    old_gp, new_gp = (make_actor("gp", organisation=o) for o in (old_gp_org, new_gp_org))

    def listed(actor, query: str = "") -> set[int]:
        r = actor.get(f"/api/v1/follow-ups?limit=200{query}")
        assert r.status_code == 200, r.json
        return {t["id"] for t in r.json["items"] if t["patient_id"] == patient.id}

    ids = {t["id"] for t in tasks.values()}
    assert listed(old_home) == ids and listed(old_gp) == ids
    assert listed(new_home) == set() and listed(new_gp) == set()

    etag = nurse.get(f"/api/v1/patients/{patient.id}").headers["ETag"]
    moved = nurse.patch(
        f"/api/v1/patients/{patient.id}",
        json={"municipality_id": new_home_org.id, "gp_practice_id": new_gp_org.id},
        headers={"If-Match": etag},
    )
    assert moved.status_code == 200, moved.json
    assert listed(old_home) == set() and listed(old_gp) == set()
    assert listed(new_home) == ids and listed(new_gp) == ids
    assert listed(new_home, "&status=any") == ids
