"""The patient page costs a fixed number of statements, whatever the length of the patient's
history (issue 18: below the ~33 it cost; issue 19: the sight of the patient checked once, 26)."""

from __future__ import annotations

from datetime import timedelta

from bridge.domain.base import utcnow
from tests.support.care import admit, discharge
from tests.support.meetings import final_minutes


def _iso(moment):
    return moment.isoformat(timespec="seconds")


def test_the_patient_page_costs_the_same_for_a_short_and_a_long_history(
    make_web_user, make_patient, make_org, count_queries
):
    nurse = make_web_user()
    nurse.login()
    patient = make_patient(nurse=nurse.actor, name="Karen Holm")
    ward = make_org("hospital_department", specialty="psychiatry")
    final_minutes(nurse.actor, patient.id)
    url = f"/patients/{patient.id}"
    nurse.client.get(url)
    with count_queries() as short:
        assert nurse.client.get(url).status_code == 200
    now = utcnow()
    for days in (200, 120, 40):
        stay = admit(nurse.actor, patient, ward, at=_iso(now - timedelta(days=days))).json
        discharge(nurse.actor, stay["id"], at=_iso(now - timedelta(days=days - 5)))
    for _ in range(3):
        final_minutes(nurse.actor, patient.id)
    nurse.client.get(url)
    with count_queries() as long:
        assert nurse.client.get(url).status_code == 200
    assert long.count == short.count, long.statements
    assert long.count <= 26, "\n".join(s[:110] for s in long.statements)
