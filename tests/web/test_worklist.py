"""Today, caseload, meeting, discharge and flags pages over the meetings, care and gaps areas."""

from datetime import timedelta

import pytest

from bridge.domain.base import utcnow
from bridge.domain.care.models import Admission
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag, FlagStatus
from bridge.web import discharges
from bridge.web.formatting import dk_date
from bridge.web.worklist import ROWS
from tests.support.care import admit, discharge
from tests.support.meetings import held_meeting, plan_meeting
from tests.support.web import csrf_from


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


def _iso(moment):
    return moment.isoformat(timespec="seconds")


def test_today_lists_flags_due_tasks_and_recent_discharges(nurse, make_patient, make_org, session):
    patient = make_patient(nurse=nurse.actor, gp_practice_id=None, name="Karen Holm")
    run_gap_scan(session, utcnow(), rules=["patient_without_gp"])
    session.commit()
    ward = make_org("hospital_department", specialty="psychiatry")
    now = utcnow()
    admission = admit(nurse.actor, patient, ward, at=_iso(now - timedelta(days=9))).json
    assert (
        discharge(nurse.actor, admission["id"], at=_iso(now - timedelta(days=6))).status_code == 200
    )
    page = nurse.client.get("/today").get_data(as_text=True)
    assert "Patienten har ingen tilknyttet praktiserende læge" in page
    assert "Karen Holm" in page
    assert f"/admissions/{admission['id']}" in page
    assert "Overskredet" in page  # overdue tasks, in Danish by default


def test_caseload_shows_flag_count_and_next_deadline_in_constant_queries(
    nurse, make_patient, session, count_queries
):
    for _ in range(3):
        make_patient(nurse=nurse.actor, gp_practice_id=None)
    run_gap_scan(session, utcnow(), rules=["patient_without_gp"])
    session.commit()
    with count_queries() as few:
        nurse.client.get("/caseload")
    for _ in range(5):
        make_patient(nurse=nurse.actor, gp_practice_id=None)
    run_gap_scan(session, utcnow(), rules=["patient_without_gp"])
    session.commit()
    with count_queries() as many:
        page = nurse.client.get("/caseload").get_data(as_text=True)
    assert page.count("1 åben") == 8  # one flag each
    assert many.count == few.count


def test_plan_hold_write_finalise_and_see_distribution(nurse, make_patient):
    patient = make_patient(nurse=nurse.actor)
    url = f"/patients/{patient.id}/meetings/new"
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    r = nurse.post(f"/patients/{patient.id}/meetings",
                   {"date": yesterday, "start": "10:00", "end": "11:00", "place": "Klinik",
                    "participant": "patient"}, token_from=url)  # fmt: skip
    assert r.status_code == 303
    meeting_url = r.headers["Location"]
    assert nurse.post(f"{meeting_url}/hold", token_from=meeting_url).status_code == 303
    r = nurse.post(f"{meeting_url}/minutes", {"summary": "Første udkast", "version": "0"},
                   token_from=meeting_url)  # fmt: skip
    assert r.status_code == 303
    page = nurse.client.get(meeting_url).get_data(as_text=True)
    assert "Første udkast" in page  # the draft survives a reload
    version = page.split('name="version" value="')[1].split('"')[0]
    r = nurse.post(f"{meeting_url}/minutes/1", {"summary": "Endelig", "version": version,
                   "do": "finalise"}, token_from=meeting_url)  # fmt: skip
    assert r.status_code == 303
    page = nurse.client.get(meeting_url).get_data(as_text=True)
    assert 'data-role="gp"' in page and "Endelig" in page


def test_stale_minutes_edit_is_refused_and_the_text_kept(nurse, make_patient):
    patient = make_patient(nurse=nurse.actor)
    meeting = held_meeting(nurse.actor, patient.id)
    meeting_url = f"/meetings/{meeting['id']}"
    nurse.post(f"{meeting_url}/minutes", {"summary": "A", "version": "0"}, token_from=meeting_url)
    page = nurse.client.get(meeting_url).get_data(as_text=True)
    version = page.split('name="version" value="')[1].split('"')[0]
    token = csrf_from(page)
    ok = nurse.client.post(f"{meeting_url}/minutes/1", data={"csrf_token": token,
                           "summary": "Theirs", "version": version, "do": "save"})  # fmt: skip
    assert ok.status_code == 303
    stale = nurse.client.post(f"{meeting_url}/minutes/1", data={"csrf_token": token,
                              "summary": "Mine", "version": version, "do": "save"})  # fmt: skip
    assert stale.status_code == 412
    body = stale.get_data(as_text=True)
    assert "Theirs" in body and ">Mine</textarea>" in body
    assert 'id="stale-warning"' in body


def test_another_nurses_meeting_is_not_found(nurse, make_patient, make_actor):
    other = make_actor("nurse")
    meeting = plan_meeting(other, make_patient(nurse=other).id)
    assert nurse.client.get(f"/meetings/{meeting['id']}").status_code == 404


def test_completing_a_task_on_the_discharge_page_removes_it_from_today(
    nurse, make_patient, make_org
):
    patient = make_patient(nurse=nurse.actor)
    ward = make_org("hospital_department", specialty="psychiatry")
    now = utcnow()
    admission = admit(nurse.actor, patient, ward, at=_iso(now - timedelta(days=9))).json
    discharge(nurse.actor, admission["id"], at=_iso(now - timedelta(days=6)))
    tasks = nurse.actor.get(f"/api/v1/follow-ups?patient={patient.id}").json["items"]
    first = tasks[0]
    assert f"task-{first['id']}" in nurse.client.get(f"/admissions/{admission['id']}").get_data(
        as_text=True
    )
    r = nurse.post(f"/follow-ups/{first['id']}/complete", {"note": "Ringet op"})
    assert r.status_code == 303
    today = nurse.client.get("/today").get_data(as_text=True)
    assert first["title"] not in today.split('data-section="follow_ups"')[1].split("</section>")[0]
    r = nurse.post(f"/follow-ups/{tasks[1]['id']}/cancel", {"reason": ""})
    assert r.status_code == 422


def test_flags_page_resolves_with_a_note(nurse, make_patient, session):
    make_patient(nurse=nurse.actor, gp_practice_id=None)
    run_gap_scan(session, utcnow(), rules=["patient_without_gp"])
    session.commit()
    page = nurse.client.get("/flags").get_data(as_text=True)
    flag_id = page.split('id="flag-')[1].split('"')[0]
    assert nurse.post(f"/flags/{flag_id}", {"action": "resolve"}).status_code == 422
    r = nurse.post(f"/flags/{flag_id}", {"action": "resolve", f"note-{flag_id}": "Læge fundet"})
    assert r.status_code == 303
    assert f'id="flag-{flag_id}"' not in nurse.client.get("/flags").get_data(as_text=True)


def test_a_form_post_without_the_token_is_refused(nurse, make_patient):
    patient = make_patient(nurse=nurse.actor)
    r = nurse.client.post(f"/patients/{patient.id}/meetings", data={"date": "2026-01-01"})
    assert r.status_code == 400


def test_a_stay_that_began_over_a_year_ago_and_still_goes_on_is_on_the_timeline(
    nurse, make_patient, make_org
):
    patient = make_patient(nurse=nurse.actor)
    ward = make_org("hospital_department", specialty="psychiatry")
    began = utcnow() - timedelta(days=430)
    assert admit(nurse.actor, patient, ward, at=_iso(began)).status_code == 201
    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "tl-admission" in page  # the bar runs from the window's start up to today
    timeline_list = page.split('class="timeline-figure"')[1].split("</figure>")[0]
    assert dk_date(began) in timeline_list


def test_today_shows_the_flags_needing_attention_behind_a_page_of_snoozed_ones(
    nurse, make_patient, session
):
    patient = make_patient(nurse=nurse.actor, name="Karen Holm")
    now = utcnow()

    def flag(n, message, severity, status, snoozed_until=None):
        return Flag(
            rule="test_rule", patient_id=patient.id, subject_type="test", subject_id=n,
            severity=severity, message_da=message, message_en=message, status=status,
            first_detected_at=now - timedelta(days=3), last_seen_at=now,
            snoozed_until=snoozed_until,
        )  # fmt: skip

    # A whole worklist page of more severe flags, all snoozed for another week, comes first.
    session.add_all(
        flag(n, "Udsat til næste uge", 3, FlagStatus.SNOOZED, now + timedelta(days=7))
        for n in range(ROWS)
    )
    session.add(
        flag(ROWS, "Udsættelsen er udløbet", 3, FlagStatus.SNOOZED, now - timedelta(hours=1))
    )
    session.add(flag(ROWS + 1, "Stadig åbent", 1, FlagStatus.OPEN))
    session.commit()
    today = nurse.client.get("/today").get_data(as_text=True)
    flags = today.split('data-section="flags"')[1].split("</section>")[0]
    assert "Stadig åbent" in flags and "Udsættelsen er udløbet" in flags
    assert "Udsat til næste uge" not in flags
    panel = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Stadig åbent" in panel and "Udsat til næste uge" not in panel


def test_the_discharge_page_shows_its_own_plan_behind_a_long_history(
    nurse, make_patient, make_org, monkeypatch
):
    patient = make_patient(nurse=nurse.actor)
    ward = make_org("hospital_department", specialty="psychiatry")
    now = utcnow()
    stays = []
    for began in (now - timedelta(days=120), now - timedelta(days=12)):
        stay = admit(nurse.actor, patient, ward, at=_iso(began)).json
        discharge(nurse.actor, stay["id"], at=_iso(began + timedelta(days=5)))
        stays.append(stay["id"])
    tasks = nurse.actor.get(f"/api/v1/follow-ups?patient={patient.id}").json["items"]
    older = [t for t in tasks if t["admission_id"] == stays[0]]
    newer = [t for t in tasks if t["admission_id"] == stays[1]]
    assert older and newer
    # The page holds as many tasks as the older stay's plan alone, which comes first by deadline.
    monkeypatch.setattr(discharges, "PLAN_ROWS", len(older))
    page = nurse.client.get(f"/admissions/{stays[1]}").get_data(as_text=True)
    assert all(f'id="task-{t["id"]}"' in page for t in newer)
    assert not any(f'id="task-{t["id"]}"' in page for t in older)


def test_a_hospital_user_sees_today_with_the_stays_of_their_own_department(
    make_web_user, make_patient, make_org, session
):
    ward = make_org("hospital_department", specialty="psychiatry")
    user = make_web_user("hospital", organisation=ward)
    now = utcnow()
    ours = make_patient(name="Hanne Afdeling")
    theirs = make_patient(name="Ole Andetsteds")
    for patient, department in ((ours, ward), (theirs, make_org("hospital_department"))):
        session.add(
            Admission(patient_id=patient.id, department_id=department.id, specialty="psychiatry",
                      acute=True, admitted_at=now - timedelta(days=9),
                      discharged_at=now - timedelta(days=3), destination="home")
        )  # fmt: skip
    session.commit()
    assert user.login().status_code == 303
    today = user.client.get("/today")
    assert today.status_code == 200
    page = today.get_data(as_text=True)
    assert "Hanne Afdeling" in page and "Ole Andetsteds" not in page
    for url in ("/caseload", "/flags", f"/patients/{ours.id}"):
        assert user.client.get(url).status_code == 200, url


def test_a_meeting_that_ends_before_it_starts_is_shown_again_with_the_error(nurse, make_patient):
    patient = make_patient(nurse=nurse.actor)
    url = f"/patients/{patient.id}/meetings/new"
    r = nurse.post(f"/patients/{patient.id}/meetings",
                   {"date": "2030-03-04", "start": "11:00", "end": "10:00",
                    "place": "Klinik Nord", "agenda": "Bolig og job", "participant": "patient"},
                   token_from=url)  # fmt: skip
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Mødet skal slutte, efter det er begyndt." in page
    assert 'id="end-error"' in page
    assert 'value="2030-03-04"' in page and 'value="11:00"' in page and 'value="10:00"' in page
    assert 'value="Klinik Nord"' in page and "Bolig og job</textarea>" in page


def test_finalising_minutes_without_a_summary_keeps_the_text_and_says_why(nurse, make_patient):
    patient = make_patient(nurse=nurse.actor)
    meeting = held_meeting(nurse.actor, patient.id)
    meeting_url = f"/meetings/{meeting['id']}"
    r = nurse.post(f"{meeting_url}/minutes", {"summary": "Udkast", "version": "0"},
                   token_from=meeting_url)  # fmt: skip
    assert r.status_code == 303
    page = nurse.client.get(meeting_url).get_data(as_text=True)
    version = page.split('name="version" value="')[1].split('"')[0]
    r = nurse.post(f"{meeting_url}/minutes/1",
                   {"summary": "  ", "decisions": "Bostøtte søges", "version": version,
                    "do": "finalise"}, token_from=meeting_url)  # fmt: skip
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Et endeligt referat skal have et resumé." in page
    assert 'id="summary-error"' in page and ">Bostøtte søges</textarea>" in page
    # Nothing half-written: the stored draft still has its old summary and is not final.
    stored = nurse.actor.get(f"/api/v1/meetings/{meeting['id']}/minutes").json
    assert [(v["status"], v["summary"]) for v in stored] == [("draft", "Udkast")]


def test_today_puts_todays_meetings_and_deadlines_first_and_shows_nothing_twice(
    nurse, make_patient, session
):
    from bridge.domain.calendar import COPENHAGEN, DEFAULT_CALENDAR
    from bridge.domain.care.models import FollowUpTask, ResponsibleKind
    from bridge.web.worklist import day_start, local_day

    patient = make_patient(nurse=nurse.actor, gp_practice_id=None, name="Karen Holm")
    now = utcnow()
    today = local_day(now)
    soon = DEFAULT_CALENDAR.add_working_days(today, 1)

    def task(title, due, kind=ResponsibleKind.NURSE):
        session.add(FollowUpTask(patient_id=patient.id, title=title, responsible_kind=kind,
                                 responsible_staff_id=nurse.id, due_at=due))  # fmt: skip

    task("Ring til bostedet", day_start(today) - timedelta(days=2))  # late
    task("Medicinafstemning", day_start(today + timedelta(days=1)))  # ends today
    task("Kontakt kommunen", day_start(soon + timedelta(days=1)))  # ends next working day
    task("Konsultation hos egen læge", day_start(soon + timedelta(days=1)), ResponsibleKind.GP)
    session.commit()
    start = day_start(today).replace(hour=12).astimezone(COPENHAGEN)
    r = nurse.actor.post("/api/v1/meetings", json={
        "patient_id": patient.id, "scheduled_start": start.isoformat(),
        "scheduled_end": (start + timedelta(hours=1)).isoformat(), "place": "Distriktspsykiatrien",
    })  # fmt: skip
    assert r.status_code == 201, r.json
    run_gap_scan(session, now, rules=["patient_without_gp", "follow_up_overdue"])
    session.commit()

    page = nurse.client.get("/today").get_data(as_text=True)
    order = [page.index(f'data-section="{k}"') for k in ("today", "flags", "follow_ups")]
    assert order == sorted(order)
    top = page[order[0] : order[1]]
    assert "Netværksmøde kl. 12.00" in top and "Distriktspsykiatrien" in top
    assert "Ring til bostedet" in top and "Medicinafstemning" in top
    assert "Kontakt kommunen" not in top
    flags = page[order[1] : order[2]]
    # Grouped under the patient, each flag naming its object; the late task is not repeated.
    assert flags.count("Karen Holm") == 1
    assert "ingen tilknyttet praktiserende læge" in flags
    assert "Opgave “Konsultation hos egen læge”, frist" in flags
    assert "Ring til bostedet" not in flags
    for title in ("Ring til bostedet", "Medicinafstemning", "Kontakt kommunen"):
        assert page.count(title) == 1, title


def test_a_provider_in_the_top_slot_comes_before_today(nurse, monkeypatch):
    from bridge.web import sections
    from bridge.web.sections import TOP_ORDER, Section, SectionItem

    monkeypatch.setattr(sections, "_today", dict(sections._today))
    sections.register_today_provider(
        "gp_messages",
        lambda s, p, now: Section(key="gp_messages", title="Nye beskeder fra egen læge",
                                  items=[SectionItem(title="Svar på henvisning")]),
        order=TOP_ORDER,
    )  # fmt: skip
    page = nurse.client.get("/today").get_data(as_text=True)
    assert page.index('data-section="gp_messages"') < page.index('data-section="today"')
