"""Issue 18, item 5: the short forms on the patient's page: the GP practice (open ones only),
a consent, a relative and a somatic screening; refused input is shown again with the reason."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bridge.domain.gaps.models import SomaticScreening
from bridge.domain.patients.models import Consent, Patient, Relative
from bridge.domain.registry.models import OrganisationKind


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


@pytest.fixture
def patient(nurse, make_patient):
    return make_patient(nurse=nurse.actor, gp_practice_id=None, name="Karen Holm")


def test_she_registers_an_open_gp_practice_found_by_name(nurse, patient, make_org, session):
    open_practice = make_org(OrganisationKind.GP_PRACTICE, name="Lægehuset Nørrebro")
    closed = make_org(
        OrganisationKind.GP_PRACTICE,
        name="Lægehuset Nørrebro Gamle",
        valid_to=date.today() - timedelta(days=1),
    )
    page = nurse.client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Registrér egen læge" in page
    url = f"/patients/{patient.id}/record/gp"
    found = nurse.client.get(f"{url}?q=nørrebro").get_data(as_text=True)
    assert "Lægehuset Nørrebro" in found and "Lægehuset Nørrebro Gamle" not in found

    refused = nurse.post(
        f"/patients/{patient.id}/gp", {"gp_practice_id": str(closed.id)}, token_from=url
    )
    saved = nurse.post(
        f"/patients/{patient.id}/gp", {"gp_practice_id": str(open_practice.id)}, token_from=url
    )

    assert refused.status_code == 422 and "Intet blev gemt." in refused.get_data(as_text=True)
    assert saved.status_code == 303
    session.expire_all()
    assert session.get(Patient, patient.id).gp_practice_id == open_practice.id


def test_she_records_a_consent_a_relative_and_a_screening(nurse, patient, session):
    base = f"/patients/{patient.id}"
    consent = nurse.post(
        f"{base}/consents",
        {"recipient_kind": "municipality", "scope": "minutes", "note": "Mundtligt"},
        token_from=f"{base}/record/consent",
    )
    relative = nurse.post(
        f"{base}/relatives",
        {"name": "Lise Holm", "relation": "søster", "may_receive_information": "yes"},
        token_from=f"{base}/record/relative",
    )
    screening = nurse.post(
        f"{base}/screenings",
        {"screened_on": date.today().isoformat(), "note": "BT og vægt"},
        token_from=f"{base}/record/screening",
    )
    assert consent.status_code == relative.status_code == screening.status_code == 303
    [c] = session.scalars(select(Consent).where(Consent.patient_id == patient.id)).all()
    assert (c.recipient_kind, c.scope, c.note) == ("municipality", "minutes", "Mundtligt")
    [r] = session.scalars(select(Relative).where(Relative.patient_id == patient.id)).all()
    assert (r.name, r.may_receive_information) == ("Lise Holm", True)
    [s] = session.scalars(
        select(SomaticScreening).where(SomaticScreening.patient_id == patient.id)
    ).all()
    assert s.note == "BT og vægt"


def test_refused_forms_keep_her_input_and_say_why(nurse, patient, make_web_user, session):
    base = f"/patients/{patient.id}"
    no_name = nurse.post(
        f"{base}/relatives", {"relation": "søster"}, token_from=f"{base}/record/relative"
    )
    future = nurse.post(
        f"{base}/screenings",
        {"screened_on": (date.today() + timedelta(days=3)).isoformat(), "note": "Planlagt"},
        token_from=f"{base}/record/screening",
    )
    no_scope = nurse.post(
        f"{base}/consents", {"recipient_kind": "municipality"}, token_from=f"{base}/record/consent"
    )
    assert no_name.status_code == future.status_code == no_scope.status_code == 422
    assert 'value="søster"' in no_name.get_data(as_text=True)
    assert "En screening kan ikke dateres ud i fremtiden." in future.get_data(as_text=True)
    assert 'value="Planlagt"' in future.get_data(as_text=True)
    assert 'value="municipality" selected' in no_scope.get_data(as_text=True)
    stranger = make_web_user()
    stranger.login()
    assert stranger.client.get(f"{base}/record/consent").status_code == 404
    assert session.scalars(select(Relative).where(Relative.patient_id == patient.id)).all() == []
