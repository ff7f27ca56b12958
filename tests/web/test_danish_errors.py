"""The domain's refusals reach the nurse in Danish (mapped at the web layer), and a rejected
form keeps what she wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, RuleViolation
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag
from bridge.web import domain_texts
from tests.support.care import admit, discharge


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


def test_holding_a_meeting_before_it_starts_is_refused_in_danish(nurse, make_patient):
    patient = make_patient(nurse=nurse.actor)
    start = datetime.now(UTC) + timedelta(days=2)
    r = nurse.actor.post("/api/v1/meetings", json={
        "patient_id": patient.id, "scheduled_start": start.isoformat(),
        "scheduled_end": (start + timedelta(hours=1)).isoformat(), "place": "Klinik",
        "participants": [{"kind": "patient"}]})  # fmt: skip
    assert r.status_code == 201, r.json
    url = f"/meetings/{r.json['id']}"
    r = nurse.post(f"{url}/hold", {"attended": "1"}, token_from=url)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "Mødet kan først registreres som afholdt, når det er begyndt." in body
    assert "cannot be held" not in body


def test_snoozing_to_the_past_is_refused_in_danish(nurse, make_patient, session):
    patient = make_patient(nurse=nurse.actor, gp_practice_id=None)
    run_gap_scan(session, utcnow(), rules=["patient_without_gp"])
    session.commit()
    flag_id = session.scalar(select(Flag.id).where(Flag.patient_id == patient.id))
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    r = nurse.post(f"/flags/{flag_id}", {"action": "snooze", f"until-{flag_id}": yesterday},
                   token_from="/flags")  # fmt: skip
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "Vælg en dag efter i dag at udsætte til." in body
    assert "snooze needs" not in body


def _stay_with_tasks(nurse, patient, ward):
    now = utcnow()
    admission = admit(nurse.actor, patient, ward, at=(now - timedelta(days=9)).isoformat()).json
    discharge(nurse.actor, admission["id"], at=(now - timedelta(days=6)).isoformat())
    tasks = nurse.actor.get(f"/api/v1/follow-ups?patient={patient.id}").json["items"]
    return admission, tasks


def test_a_task_done_twice_is_explained_in_danish(nurse, make_patient, make_org):
    patient = make_patient(nurse=nurse.actor)
    ward = make_org("hospital_department", specialty="psychiatry")
    admission, tasks = _stay_with_tasks(nurse, patient, ward)
    url = f"/admissions/{admission['id']}"
    token = nurse.token(url)
    first = nurse.client.post(f"/follow-ups/{tasks[0]['id']}/complete", data={"csrf_token": token})
    assert first.status_code == 303
    again = nurse.client.post(f"/follow-ups/{tasks[0]['id']}/complete", data={"csrf_token": token})
    assert again.status_code == 409
    body = again.get_data(as_text=True)
    assert "Opgaven er allerede udført." in body and "already done" not in body


def test_a_rejected_task_form_keeps_what_she_wrote(nurse, make_patient, make_org):
    patient = make_patient(nurse=nurse.actor)
    ward = make_org("hospital_department", specialty="psychiatry")
    admission, tasks = _stay_with_tasks(nurse, patient, ward)
    url = f"/admissions/{admission['id']}"
    task_id = tasks[0]["id"]
    r = nurse.post(f"/follow-ups/{task_id}/redate", {"due_date": "1890-01-01", "due_time": "09:30"},
                   token_from=url)  # fmt: skip
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    item = body.split(f'id="task-{task_id}"')[1].split("</li>")[0]
    assert 'value="1890-01-01"' in item and 'value="09:30"' in item
    assert "<details open>" in item  # the form she used is open, not folded away
    other = body.split(f'id="task-{tasks[1]["id"]}"')[1].split("</li>")[0]
    assert 'value="1890-01-01"' not in other


def test_every_mapped_rule_has_a_danish_text_and_unknown_ones_no_english(app):
    with app.test_request_context():
        for (field, detail), _text in domain_texts._RULES.items():
            danish = domain_texts.domain_text(RuleViolation(detail, field=field))
            assert danish and danish != detail
        unknown = domain_texts.domain_text(RuleViolation("some new english rule", field="x"))
        assert "english" not in unknown
        conflict = domain_texts.domain_text(Conflict("a held meeting cannot become planned"))
        assert conflict == "Et møde, der er afholdt, kan ikke blive planlagt."
