"""One view of a patient is one access event, and the access log stays readable."""

from __future__ import annotations

from sqlalchemy import func, select

from bridge.domain.audit import AuditEvent


def _events(session, staff_id):
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.staff_id == staff_id).order_by(AuditEvent.id)
        )
    )


def test_one_view_of_the_patient_page_is_one_access_event(make_web_user, make_patient, session):
    nurse = make_web_user()
    nurse.login()
    patient = make_patient(nurse=nurse.actor)
    before = session.scalar(select(func.count()).select_from(AuditEvent))

    assert nurse.client.get(f"/patients/{patient.id}").status_code == 200

    written = session.scalar(select(func.count()).select_from(AuditEvent)) - before
    assert written == 1
    (event,) = _events(session, nurse.id)
    assert (event.patient_id, event.action, event.resource_type, event.outcome) == (
        patient.id,
        "read",
        "patient",
        "ok",
    )
    # what the page showed is recorded on the one event
    shown = event.shown_items
    assert shown[0] == f"read patient {patient.id}"
    assert {"enrollment", "consent", "relative", "diagnosis", "access_log"} <= {
        e.split()[1] for e in shown
    }
    assert len(shown) == len(set(shown))


def test_list_views_do_not_fill_the_access_log(make_web_user, make_patient, make_actor, session):
    nurse = make_web_user()
    nurse.login()
    patient = make_patient(nurse=nurse.actor)
    for _ in range(5):
        assert nurse.client.get("/caseload").status_code == 200
    gp = make_actor("admin")
    gp.get(f"/api/v1/patients/{patient.id}")
    listed = [e for e in _events(session, nurse.id) if e.patient_id == patient.id]
    assert [e.action for e in listed] == ["listed"] * 5  # still audited, one per view

    log = nurse.actor.get(f"/api/v1/patients/{patient.id}/access-log")
    assert log.status_code == 200, log.json
    actions = [(e["staff_id"], e["action"]) for e in log.json["items"]]
    assert (gp.id, "read") in actions
    assert "listed" not in {a for _, a in actions}

    everything = nurse.actor.get(
        f"/api/v1/patients/{patient.id}/access-log", query_string={"include_listed": "true"}
    )
    assert [e["action"] for e in everything.json["items"]].count("listed") == 5

    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert page.count("listed") == 0
