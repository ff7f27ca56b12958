"""The pages use the domain services: the same access rules and the same audit as the API."""

from datetime import date

import pytest
from sqlalchemy import select

from bridge.domain.audit import AuditEvent
from bridge.domain.base import utcnow
from bridge.domain.patients.models import (
    CareTeamMember,
    CareTeamRole,
    Consent,
    ConsentScope,
    Diagnosis,
    Relative,
)
from bridge.web import sections
from bridge.web.sections import Section, SectionItem
from bridge.web.timeline_svg import TimelineItem


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


def audit_rows(session, **where):
    stmt = select(AuditEvent)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(session.scalars(stmt.order_by(AuditEvent.id)))


def test_caseload_lists_the_nurses_own_patients_only(nurse, make_patient, make_actor):
    mine = make_patient(nurse=nurse.actor, name="Karen Holm")
    other = make_patient(nurse=make_actor("nurse"), name="Niels Fremmed")
    page = nurse.client.get("/caseload").get_data(as_text=True)
    assert "Karen Holm" in page and f"/patients/{mine.id}" in page
    assert "Niels Fremmed" not in page and f"/patients/{other.id}" not in page
    assert mine.cpr not in page and mine.cpr_masked in page


def test_caseload_searches_by_name(nurse, make_patient):
    make_patient(nurse=nurse.actor, name="Karen Holm")
    make_patient(nurse=nurse.actor, name="Lars Berg")
    page = nurse.client.get("/caseload?name=hol").get_data(as_text=True)
    assert "Karen Holm" in page and "Lars Berg" not in page


def test_cpr_search_is_a_post_and_leads_to_the_patient_without_the_cpr_in_any_url(
    nurse, make_patient, session
):
    patient = make_patient(nurse=nurse.actor)
    response = nurse.post(
        "/caseload/cpr", {"cpr": f"{patient.cpr[:6]}-{patient.cpr[6:]}"}, token_from="/caseload"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/patients/{patient.id}"
    assert patient.cpr[6:] not in response.headers["Location"]
    assert audit_rows(session, staff_id=nurse.id, action="search")[-1].patient_id == patient.id


def test_cpr_search_tells_when_nothing_is_found_or_the_number_is_malformed(
    nurse, make_patient, make_actor
):
    other = make_patient(nurse=make_actor("nurse"))
    not_mine = nurse.post("/caseload/cpr", {"cpr": other.cpr}, token_from="/caseload")
    assert not_mine.status_code == 200
    assert "Ingen af dine patienter har det CPR-nummer" in not_mine.get_data(as_text=True)
    bad = nurse.post("/caseload/cpr", {"cpr": "12345"}, token_from="/caseload")
    assert 'aria-invalid="true"' in bad.get_data(as_text=True)


def test_the_patient_page_shows_identity_team_consents_relatives_diagnoses_and_log(
    nurse, make_patient, session, make_org
):
    patient = make_patient(nurse=nurse.actor, name="Karen Holm")
    facility = make_org("social_psychiatry_facility", name="Botilbuddet Lindehuset")
    session.add_all(
        [
            CareTeamMember(
                patient_id=patient.id,
                organisation_id=facility.id,
                role=CareTeamRole.HOUSING,
                contact_name="Pia Pædagog",
            ),
            Consent(
                patient_id=patient.id,
                recipient_organisation_id=facility.id,
                scope=ConsentScope.MINUTES,
                given_at=utcnow(),
            ),
            Relative(patient_id=patient.id, name="Jens Holm", relation="bror"),
            Diagnosis(
                patient_id=patient.id, code="F20.0", psychiatric=True, description="Skizofreni"
            ),
        ]
    )
    session.commit()
    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    for text in (
        "Karen Holm",
        patient.cpr_masked,
        "Botilbuddet Lindehuset",
        "Pia Pædagog",
        "Bosted",
        "Mødereferater",
        "Jens Holm",
        "F20.0",
        "Adgangslog",
        "<svg",
    ):
        assert text in page, text
    assert patient.cpr[6:] not in page.replace(patient.cpr_masked, "")


def test_revealing_the_cpr_is_a_post_and_is_audited(nurse, make_patient, session):
    patient = make_patient(nurse=nurse.actor)
    assert nurse.client.get(f"/patients/{patient.id}/cpr").status_code == 405
    page = nurse.post(f"/patients/{patient.id}/cpr").get_data(as_text=True)
    assert f"{patient.cpr[:6]}-{patient.cpr[6:]}" in page
    reveal = audit_rows(session, staff_id=nurse.id, resource_type="patient_cpr")
    assert [(r.patient_id, r.outcome) for r in reveal] == [(patient.id, "ok")]
    assert reveal[0].request_id  # written by the request wrapper, with the request's id
    # the reveal then shows in the patient's own access log
    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Fuldt CPR-nummer" in page


def test_reading_a_patient_page_is_audited_like_the_api(nurse, make_patient, session):
    patient = make_patient(nurse=nurse.actor)
    nurse.client.get(f"/patients/{patient.id}")
    (event,) = audit_rows(session, staff_id=nurse.id, patient_id=patient.id)
    kinds = {entry.split()[1] for entry in event.shown_items}
    assert {"patient", "enrollment", "care_team", "consent", "relative", "diagnosis"} <= kinds


def test_a_nurse_cannot_open_another_nurses_patient(nurse, make_patient, make_actor, session):
    other = make_patient(nurse=make_actor("nurse"), name="Niels Fremmed")
    response = nurse.client.get(f"/patients/{other.id}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Niels Fremmed" not in body and "Ikke fundet" in body
    assert nurse.post(f"/patients/{other.id}/cpr").status_code == 404
    refused = audit_rows(session, staff_id=nurse.id, patient_id=other.id)
    assert refused and {r.outcome for r in refused} == {"not_found"}


def test_the_caseload_costs_the_same_number_of_queries_for_few_and_many_patients(
    nurse, make_patient, count_queries
):
    make_patient(nurse=nurse.actor)
    with count_queries() as few:
        assert nurse.client.get("/caseload").status_code == 200
    for _ in range(8):
        make_patient(nurse=nurse.actor)
    with count_queries() as many:
        assert nurse.client.get("/caseload").status_code == 200
    assert few.count == many.count


def test_today_renders_every_registered_section_in_order(nurse, monkeypatch):
    monkeypatch.setattr(sections, "_today", dict(sections._today))
    sections.register_today_provider(
        "flags",
        lambda s, p, now: Section(
            key="flags",
            title="Åbne flag",
            items=[SectionItem(title="Ingen egen læge", patient_name="Karen", severity="danger")],
        ),
        order=10,
    )
    sections.register_today_provider("hidden", lambda s, p, now: None)
    page = nurse.client.get("/today").get_data(as_text=True)
    assert "Ingen egen læge" in page and "Haster" in page
    assert page.index('data-section="flags"') < page.index('data-section="meetings"')
    assert "Ingen åbne flag" not in page  # the placeholder was replaced


def test_patient_panels_and_timeline_sources_plug_in(nurse, make_patient, monkeypatch):
    patient = make_patient(nurse=nurse.actor)
    monkeypatch.setattr(sections, "_panels", {})
    monkeypatch.setattr(sections, "_timeline", {})
    seen = {}

    def tasks(session, principal, patient_id, now):
        seen["principal"] = principal
        return Section(key="tasks", title="Åbne opgaver", empty_text="Ingen åbne opgaver.")

    sections.register_patient_panel("tasks", tasks)
    sections.register_timeline_source(
        "meetings",
        lambda s, p, pid, first, last: [
            TimelineItem("meeting", date.today(), overdue=True, label="Netværksmøde")
        ],
    )
    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Ingen åbne opgaver." in page
    assert "tl-overdue" in page and "Netværksmøde" in page
    assert seen["principal"].staff_id == nurse.id


def test_pages_are_not_cached_and_cannot_be_framed(nurse):
    response = nurse.client.get("/today")
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_static_assets_are_served_from_the_package(client):
    response = client.get("/web/static/bridge.css")
    assert response.status_code == 200 and b"--accent" in response.data
    response.close()


def test_caseload_columns_are_filled_for_the_whole_page_in_one_call(
    nurse, make_patient, monkeypatch
):
    first = make_patient(nurse=nurse.actor)
    second = make_patient(nurse=nurse.actor)
    monkeypatch.setattr(sections, "_columns", {})
    calls = []

    def flags(session, principal, patient_ids):
        calls.append(sorted(patient_ids))
        return {first.id: sections.Cell("2 åbne", severity="danger")}

    sections.register_caseload_column("flags", flags)
    page = nurse.client.get("/caseload").get_data(as_text=True)
    assert calls == [sorted([first.id, second.id])]
    assert "2 åbne" in page and "sev-danger" in page
    with pytest.raises(ValueError):
        sections.register_caseload_column("colour", flags)


def test_the_access_log_is_left_off_for_a_reader_who_may_not_see_it(
    make_web_user, make_patient, session
):
    caseworker = make_web_user("municipality")
    caseworker.login()
    patient = make_patient(name="Karen Holm")  # a citizen of the caseworker's municipality
    page = caseworker.client.get(f"/patients/{patient.id}")
    assert page.status_code == 200 and "Karen Holm" in page.get_data(as_text=True)
    assert "Adgangslog" not in page.get_data(as_text=True)
    rows = audit_rows(session, staff_id=caseworker.id, patient_id=patient.id)
    assert rows and not [e for r in rows for e in r.shown_items if " access_log " in e]
    assert {r.outcome for r in rows} == {"ok"}


def test_a_handed_over_patient_leaves_the_caseload_page(nurse, make_patient, make_actor):
    successor = make_actor("nurse")
    patient = make_patient(nurse=nurse.actor, name="Karen Overdraget")
    assert "Karen Overdraget" in nurse.client.get("/caseload").get_data(as_text=True)
    course = nurse.actor.get(f"/api/v1/patients/{patient.id}/enrollments").json[0]
    r = nurse.actor.patch(
        f"/api/v1/patients/{patient.id}/enrollments/{course['id']}",
        json={"nurse_id": successor.id},
        headers={"If-Match": "*"},
    )
    assert r.status_code == 200, r.json
    assert "Karen Overdraget" not in nurse.client.get("/caseload").get_data(as_text=True)
    assert "Karen Overdraget" not in nurse.client.get("/today").get_data(as_text=True)
    assert nurse.client.get(f"/patients/{patient.id}").status_code == 404


def test_pages_show_a_deadline_as_the_working_day_it_ends(nurse, make_patient, make_org):
    from tests.support.care import admit, discharge

    ward = make_org("hospital_department", specialty="psychiatry")
    patient = make_patient(nurse=nurse.actor)
    stay = admit(nurse.actor, patient, ward, at="2026-11-16T10:00:00+01:00").json
    # A Thursday discharge: the municipality's one working day ends on Friday 20 November.
    assert discharge(nurse.actor, stay["id"], at="2026-11-19T14:00:00+01:00").status_code == 200
    page = nurse.client.get(f"/admissions/{stay['id']}").get_data(as_text=True)
    assert 'datetime="2026-11-20"' in page and "fredag 20.11." in page
    assert "21.11.2026" not in page  # the stored midnight after it is never shown
    caseload = nurse.client.get("/caseload").get_data(as_text=True)
    assert 'datetime="2026-11-20"' in caseload
