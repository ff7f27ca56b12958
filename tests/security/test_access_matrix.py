"""An access matrix generated from the route map: every route that takes the id of something
belonging to a patient is called by every role on a FOREIGN patient's object, with every method.

Zero leaks means: never a 2xx, never the foreign patient's name or CPR in the body, and the same
status as for an id that does not exist at all (so the answer is no oracle for existence).
Lists, the feed and the inbox must not contain the foreign patient either."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bridge.domain.care.models import FollowUpTask
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag
from bridge.domain.meetings.models import ActionItem, Distribution, MinutesVersion
from bridge.domain.notifications.models import Notification
from bridge.domain.notifications.services import enqueue_notification
from bridge.domain.patients.models import Consent, Enrollment
from bridge.domain.registry.models import Organisation, OrganisationKind, Specialty
from tests.api.meetings_support import final_minutes

ROLES = ("nurse", "gp", "municipality", "hospital")
# Routes that are not about a patient (the registry, admin tools) are covered elsewhere.
NOT_PATIENT_SCOPED = re.compile(
    r"^/api/v1/(staff|organisations|nurses|follow-up-templates|jobs|fhir|regions|overview)(/|$)"
)
MISSING = 2**62


@dataclass
class Side:
    patient: object
    ids: dict[str, object]


def _route_params(rule: str) -> list[str]:
    return re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule)


def _patient_routes(app) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if not path.startswith("/api/v1/") or NOT_PATIENT_SCOPED.match(path):
            continue
        if not _route_params(path):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return sorted(out)


def _fill(path: str, ids: dict[str, object]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(ids[m.group(1)]), path)


def _build_side(session, actors_factory, make_patient, make_org, municipality_code: str) -> tuple:
    gp_org = make_org(OrganisationKind.GP_PRACTICE)
    ward = make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)
    nurse = actors_factory("nurse")
    actors = {
        "nurse": nurse,
        "gp": actors_factory("gp", organisation=gp_org),
        "municipality": actors_factory(
            "municipality",
            organisation=session.scalar(
                select(Organisation).where(Organisation.municipality_code == municipality_code)
            ),
        ),
        "hospital": actors_factory("hospital", organisation=ward),
    }
    patient = make_patient(
        nurse=nurse,
        gp=gp_org,
        municipality_code=municipality_code,
        name=f"Hemmelig {municipality_code}",
    )
    meeting, _minutes = final_minutes(
        nurse,
        patient.id,
        action_items=[
            {
                "description": "Ring",
                "responsible_organisation_id": gp_org.id,
                "due_date": "2026-01-01",
            }
        ],
    )
    admission = (
        actors["hospital"]
        .post(
            "/api/v1/admissions",
            json={
                "patient_id": patient.id,
                "department_id": ward.id,
                "acute": True,
                "admitted_at": "2026-03-01T10:00:00+01:00",
            },
        )
        .json
    )
    actors["hospital"].post(
        f"/api/v1/admissions/{admission['id']}/discharge",
        json={"discharged_at": "2026-03-10T10:00:00+01:00", "destination": "home"},
    )
    # A psychosis diagnosis and no screening: the scan opens a flag on this patient.
    nurse.post(f"/api/v1/patients/{patient.id}/diagnoses", json={"code": "F20.0"})
    nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "social_psychiatry_facility", "scope": "minutes"},
    )
    enqueue_notification(
        session,
        recipient_organisation_id=gp_org.id,
        kind="minutes_final",
        patient_id=patient.id,
        payload={"ref": {"patient_id": patient.id}},
        source_type=None,
        source_id=None,
        idempotency_key=f"matrix-{patient.id}",
    )
    session.commit()
    run_gap_scan(session, datetime.now(UTC))
    session.commit()

    def first(stmt):
        return session.scalar(stmt.limit(1))

    version = first(select(MinutesVersion).where(MinutesVersion.meeting_id == meeting["id"]))
    ids = {
        "patient_id": patient.id,
        "meeting_id": meeting["id"],
        "version_no": 1,
        "summary_id": version.id,
        "admission_id": admission["id"],
        "plan_id": MISSING,
        "distribution_id": first(
            select(Distribution.id).where(Distribution.minutes_version_id == version.id)
        ),
        "item_id": first(select(ActionItem.id).where(ActionItem.minutes_version_id == version.id)),
        "task_id": first(select(FollowUpTask.id).where(FollowUpTask.patient_id == patient.id)),
        "flag_id": first(select(Flag.id).where(Flag.patient_id == patient.id)),
        "notification_id": first(
            select(Notification.id).where(Notification.patient_id == patient.id)
        ),
        "consent_id": first(select(Consent.id).where(Consent.patient_id == patient.id)),
        "enrollment_id": first(select(Enrollment.id).where(Enrollment.patient_id == patient.id)),
        "code": municipality_code,
    }
    assert None not in ids.values(), ids
    missing_ids = {k: MISSING for k in ids} | {"version_no": 1, "code": "0999"}
    return actors, Side(patient=patient, ids=ids), missing_ids


@pytest.fixture
def matrix(session, make_actor, make_patient, make_org):
    mine, own, _ = _build_side(session, make_actor, make_patient, make_org, "0101")
    _, foreign, missing = _build_side(session, make_actor, make_patient, make_org, "0751")
    return mine, own, foreign, missing


def test_no_route_leaks_a_foreign_patients_objects(app, matrix):
    actors, _own, foreign, missing = matrix
    routes = _patient_routes(app)
    assert len(routes) > 30  # the route map really was read
    statuses = Counter()
    leaks = []
    for role in ROLES:
        actor = actors[role]
        for method, path in routes:
            body = {} if method in ("POST", "PUT", "PATCH") else None
            headers = {"If-Match": "*"}
            call = getattr(actor, method.lower())
            kwargs = {"json": body} if body is not None else {}
            foreign_r = call(_fill(path, foreign.ids), headers=headers, **kwargs)
            missing_r = call(_fill(path, missing), headers=headers, **kwargs)
            statuses[foreign_r.status_code] += 1
            text = foreign_r.get_data(as_text=True)
            if (
                200 <= foreign_r.status_code < 300
                or foreign.patient.name in text
                or foreign.patient.cpr in text
                or foreign_r.status_code != missing_r.status_code
            ):
                leaks.append((role, method, path, foreign_r.status_code, missing_r.status_code))
    assert leaks == [], "\n".join(map(str, leaks))
    # Every call got past authentication, and most were refused by the visibility rule itself
    # (a 401 or a 422 for each would also be "the same as for a missing id").
    assert 401 not in statuses, statuses
    assert statuses[404] > sum(statuses.values()) / 2, statuses


LISTS = {
    "nurse": [
        "/api/v1/patients?limit=200",
        "/api/v1/flags?limit=200",
        "/api/v1/follow-ups?limit=200",
        "/api/v1/meetings?limit=200",
    ],
    "gp": [
        "/api/v1/patients?limit=200",
        "/api/v1/flags?limit=200",
        "/api/v1/follow-ups?limit=200",
        "/api/v1/inbox?limit=200",
    ],
    "municipality": [
        "/api/v1/patients?limit=200",
        "/api/v1/follow-ups?limit=200",
        "/api/v1/municipalities/0101/meeting-summaries?limit=200",
        "/api/v1/inbox?limit=200",
    ],
    "hospital": ["/api/v1/patients?limit=200", "/api/v1/follow-ups?limit=200"],
}


@pytest.mark.parametrize("role", ROLES)
def test_lists_feeds_and_inbox_hold_no_foreign_patient(matrix, role):
    actors, own, foreign, _ = matrix
    for url in LISTS[role]:
        r = actors[role].get(url)
        assert r.status_code == 200, (url, r.json)
        text = r.get_data(as_text=True)
        assert foreign.patient.name not in text, url
        assert foreign.patient.cpr not in text, url
    # The lists are not simply empty: the role's own patient is in its patient list.
    patients = actors[role].get(LISTS[role][0]).json["items"]
    assert own.patient.id in {p["id"] for p in patients}


def test_own_patient_is_readable_by_every_role(matrix):
    actors, own, _, _ = matrix
    for role in ROLES:
        r = actors[role].get(f"/api/v1/patients/{own.patient.id}")
        assert r.status_code == 200, role
        timeline = actors[role].get(f"/api/v1/patients/{own.patient.id}/timeline")
        assert timeline.status_code == 200, role
