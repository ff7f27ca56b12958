"""Stays and follow-up plans through the API, as a department and a nurse make them."""

from __future__ import annotations


def admit(actor, patient, department, at="2026-03-01T10:00:00+01:00", acute=True, by_cpr=None):
    """A department names the person in front of it by CPR; others by the id they already see."""
    if by_cpr is None:
        by_cpr = "hospital" in actor.staff.roles
    who = {"cpr": patient.cpr} if by_cpr else {"patient_id": patient.id}
    return actor.post(
        "/api/v1/admissions",
        json={**who, "department_id": department.id, "acute": acute, "admitted_at": at},
    )


def discharge(actor, admission_id, at="2026-03-10T10:00:00+01:00", destination="home", **extra):
    return actor.post(
        f"/api/v1/admissions/{admission_id}/discharge",
        json={"discharged_at": at, "destination": destination, **extra},
    )


def plan_after(actor, patient, ward, *, admitted, discharged, **extra):
    """Admit and discharge; return the follow-up tasks by title (due_at as shown)."""
    admission = admit(actor, patient, ward, at=admitted).json
    r = discharge(actor, admission["id"], at=discharged, **extra)
    assert r.status_code == 200, r.json
    tasks = actor.get(f"/api/v1/follow-ups?patient={patient.id}&limit=200").json["items"]
    return {t["title"]: t for t in tasks if t["admission_id"] == admission["id"]}


PSYCH_NURSE = "Brobyggersygeplejerskens kontakt efter udskrivelse"
MUNICIPALITY = "Kommunens kontakt til borgeren"
FMK = "Medicinafstemning i FMK"
GP = "Konsultation hos egen læge"
OUTPATIENT = "Ambulant tid eller tid hos praktiserende psykiater booket"
NETWORK = "Netværksmøde afholdt"
REHAB = "Opstart af kommunal genoptræning"
