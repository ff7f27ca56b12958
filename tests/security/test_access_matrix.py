"""An access matrix generated from the OpenAPI spec: every operation that takes the id of
something belonging to a patient, in its path or (for creates) in its body, is called by every role
on a FOREIGN patient's object and on a MISSING one, with a body built from the spec.

"Foreign" is three things: another tenant's patient; a patient the calling nurse handed over to
another nurse; a patient whose stay in the calling department ended longer ago than the treatment
period. Zero leaks means: never a 2xx, never the foreign patient's name or CPR in the body, and the
same status and the same body (apart from request_id) as for an object that does not exist, so
the answer is no oracle for existence. A new operation is covered without anyone listing it.
Lists, the feed and the inbox must not contain the foreign patient either."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bridge.domain.access import access_settings
from bridge.domain.care.models import FollowUpTask
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag
from bridge.domain.meetings.models import ActionItem, Distribution, MinutesVersion
from bridge.domain.messaging.models import Direction, MessageThread, ThreadMessage
from bridge.domain.notifications.enqueue import enqueue_notification
from bridge.domain.notifications.models import Notification
from bridge.domain.patients.models import CareRequest, Consent, Enrollment
from bridge.domain.registry.models import Organisation, OrganisationKind, Specialty
from tests.support.meetings import final_minutes

ROLES = ("nurse", "gp", "municipality", "hospital")
# Operations that are not about a patient (the registry, admin tools) are covered elsewhere.
NOT_PATIENT_SCOPED = re.compile(
    r"^/api/v1/(staff|organisations|nurses|follow-up-templates|jobs|fhir|regions|overview)(/|$)"
)
# Registering a patient is not a lookup: it answers by the care-request design (test_care_requests).
NOT_A_LOOKUP = {("POST", "/api/v1/patients")}
# An id no row has, yet within every id column (integer): a larger one never reaches a lookup.
MISSING = 2**31 - 1
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Side:
    patient: object
    ids: dict[str, object]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    body_schema: dict | None

    def url(self, ids: dict[str, object]) -> str:
        return re.sub(r"{([^}]+)}", lambda m: str(ids[m.group(1)]), self.path)


def _spec(app) -> dict:
    return app.test_client().get("/api/openapi.json").json


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _operations(spec: dict) -> list[Operation]:
    """Every operation that names a patient's object: by a path parameter or a body patient_id."""
    out = []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/") or NOT_PATIENT_SCOPED.match(path):
            continue
        for method in METHODS:
            if method not in item or (method.upper(), path) in NOT_A_LOOKUP:
                continue
            body = item[method].get("requestBody", {}).get("content", {})
            schema = body.get("application/json", {}).get("schema")
            schema = _resolve(spec, schema) if schema else None
            names_patient = schema is not None and (
                "patient_id" in schema.get("properties", {}) or "cpr" in schema.get("required", [])
            )
            if "{" in path or names_patient:
                out.append(Operation(method.upper(), path, schema))
    return sorted(out, key=lambda o: (o.path, o.method))


def _example(spec: dict, schema: dict, name: str, ids: dict[str, object], context: dict) -> object:
    """A value the schema accepts: the ids in ``ids`` (the target patient's), the caller's own
    organisations from ``context``, plain values otherwise."""
    schema = _resolve(spec, schema)
    if name in ids and name != "code":
        return ids[name]
    if name in context:
        return context[name]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return _body(spec, schema, ids, context)
    if kind == "array":
        item = _example(spec, schema.get("items", {}), name, ids, context)
        return [item] * schema.get("minItems", 0)
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date-time":
        return (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    if fmt == "date":
        return date.today().isoformat()
    if name == "cpr":
        return str(ids["cpr"])
    return "x" * max(schema.get("minLength", 1), 1)


def _body(spec: dict, schema: dict, ids: dict[str, object], context: dict) -> dict:
    properties = schema.get("properties", {})
    # The required fields, and the patient the body names (optional where a CPR may replace it).
    wanted = [n for n in properties if n in schema.get("required", []) or n == "patient_id"]
    return {
        n: _example(spec, properties[n], n, ids, context)
        for n in wanted
        if not properties[n].get("readOnly")
    }


def _comparable(response) -> tuple[int, object]:
    """Status and body, the request id aside (it differs between any two requests)."""
    body = response.get_json(silent=True)
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "request_id"}
    return response.status_code, json.dumps(body, sort_keys=True)


def _days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _build_side(
    session,
    actors_factory,
    make_patient,
    make_org,
    municipality_code: str,
    *,
    discharged_days_ago: float = 10,
) -> tuple:
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
    admitted = actors["hospital"].post(
        "/api/v1/admissions",
        json={
            "cpr": patient.cpr,
            "department_id": ward.id,
            "acute": True,
            "admitted_at": _days_ago(discharged_days_ago + 9),
        },
    )
    assert admitted.status_code == 201, admitted.json
    admission = admitted.json
    discharged = actors["hospital"].post(
        f"/api/v1/admissions/{admission['id']}/discharge",
        json={"discharged_at": _days_ago(discharged_days_ago), "destination": "home"},
    )
    assert discharged.status_code == 200, discharged.json
    # A psychosis diagnosis and no screening: the scan opens a flag on this patient.
    nurse.post(f"/api/v1/patients/{patient.id}/diagnoses", json={"code": "F20.0"})
    nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "social_psychiatry_facility", "scope": "minutes"},
    )
    # Another nurse asks to join the patient's care (registering the same CPR number).
    requester = actors_factory("nurse")
    asked = requester.post(
        "/api/v1/patients",
        json={"cpr": patient.cpr, "name": "X", "municipality_id": patient.municipality_id},
    )
    assert asked.status_code == 202, asked.json
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
    # A message the GP sent about the patient (as the inbound door files one).
    thread = MessageThread(
        patient_id=patient.id, thread_identifier=f"urn:uuid:matrix-{patient.id}", category="other"
    )
    session.add(thread)
    session.flush()
    session.add(
        ThreadMessage(
            thread_id=thread.id,
            patient_id=patient.id,
            direction=Direction.IN,
            activity="new-message",
            organisation_id=gp_org.id,
            message_header_id=f"matrix-{patient.id}",
            payload_identifier=f"urn:uuid:matrix-{patient.id}",
            text="Hemmelig besked",
            sent_at=datetime.now(UTC),
        )
    )
    session.commit()
    run_gap_scan(session, datetime.now(UTC))
    session.commit()

    def first(stmt):
        return session.scalar(stmt.limit(1))

    version = first(select(MinutesVersion).where(MinutesVersion.meeting_id == meeting["id"]))
    ids = {
        "patient_id": patient.id,
        "cpr": patient.cpr,
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
        "request_id": first(select(CareRequest.id).where(CareRequest.patient_id == patient.id)),
        "message_id": first(select(ThreadMessage.id).where(ThreadMessage.patient_id == patient.id)),
        "code": municipality_code,
    }
    assert None not in ids.values(), ids
    missing_ids = {k: MISSING for k in ids} | {
        "version_no": 1,
        "code": "0999",
        "cpr": "0101011234",  # a valid CPR number nobody in the test has
    }
    context = {"department_id": ward.id}
    return actors, Side(patient=patient, ids=ids), missing_ids, context


@pytest.fixture
def matrix(session, make_actor, make_patient, make_org):
    mine, own, _, context = _build_side(session, make_actor, make_patient, make_org, "0101")
    _, foreign, missing, _ = _build_side(session, make_actor, make_patient, make_org, "0751")
    return mine, own, foreign, missing, context


@pytest.fixture
def handed_over(session, make_actor, make_patient, make_org):
    """A patient whose course the side's nurse handed to another nurse."""
    actors, side, missing, context = _build_side(
        session, make_actor, make_patient, make_org, "0147"
    )
    successor = make_actor("nurse")
    nurse = actors["nurse"]
    url = f"/api/v1/patients/{side.patient.id}/enrollments/{side.ids['enrollment_id']}"
    r = nurse.patch(url, json={"nurse_id": successor.id}, headers={"If-Match": "*"})
    assert r.status_code == 200, r.json
    return nurse, side, missing, context


@pytest.fixture
def treatment_ended(session, make_actor, make_patient, make_org):
    """A patient discharged from the side's department a day longer ago than the treatment
    period, whose follow-up tasks the department has done."""
    days = access_settings().treatment_access_days + 1
    actors, side, missing, context = _build_side(
        session, make_actor, make_patient, make_org, "0147", discharged_days_ago=days
    )
    hospital = actors["hospital"]
    # The department did its part of the follow-up: an open task of its own would keep sight.
    tasks = session.scalars(
        select(FollowUpTask.id).where(
            FollowUpTask.patient_id == side.patient.id,
            FollowUpTask.responsible_organisation_id == hospital.organisation_id,
        )
    ).all()
    assert tasks, "the side's discharge planned no task for the department"
    for task_id in tasks:
        done = hospital.post(f"/api/v1/follow-ups/{task_id}/complete", json={})
        assert done.status_code == 200, done.json
    return hospital, side, missing, context


def _run(app, actor, operations, spec, foreign: Side, missing: dict, context: dict) -> tuple:
    statuses: Counter = Counter()
    leaks = []
    for op in operations:
        call = getattr(actor, op.method.lower())
        responses = []
        for ids in (foreign.ids, missing):
            kwargs = {}
            if op.body_schema is not None:
                kwargs["json"] = _body(spec, op.body_schema, ids, context)
            responses.append(call(op.url(ids), headers={"If-Match": "*"}, **kwargs))
        foreign_r, missing_r = responses
        statuses[foreign_r.status_code] += 1
        text = foreign_r.get_data(as_text=True)
        if (
            200 <= foreign_r.status_code < 300
            or foreign.patient.name in text
            or foreign.patient.cpr in text
            or _comparable(foreign_r) != _comparable(missing_r)
        ):
            leaks.append(
                (op.method, op.path, foreign_r.status_code, missing_r.status_code, text[:200])
            )
    return statuses, leaks


def test_operations_are_read_from_the_spec(app):
    operations = _operations(_spec(app))
    assert len(operations) > 40  # the spec really was read
    creates = {(o.method, o.path) for o in operations if "{" not in o.path}
    # Creates that name a patient in their body are in the matrix without being listed here.
    assert {("POST", "/api/v1/admissions"), ("POST", "/api/v1/meetings")} <= creates
    assert ("POST", "/api/v1/follow-ups") in creates


def test_no_operation_leaks_a_foreign_patients_objects(app, matrix):
    actors, _own, foreign, missing, context = matrix
    spec = _spec(app)
    operations = _operations(spec)
    statuses: Counter = Counter()
    leaks = []
    for role in ROLES:
        got, found = _run(app, actors[role], operations, spec, foreign, missing, context)
        statuses += got
        leaks += [(role, *leak) for leak in found]
    assert leaks == [], "\n".join(map(str, leaks))
    # Every call got past authentication, and most were refused by the visibility rule itself
    # (a 401 or a 422 for each would also be "the same as for a missing id").
    assert 401 not in statuses, statuses
    assert statuses[404] > sum(statuses.values()) / 2, statuses


def test_the_generated_bodies_reach_the_rule_on_ones_own_patient(app, matrix):
    """The bodies built from the spec are good enough to create things for one's own patient,
    so the matrix's 404s on foreign patients come from the visibility rule, not from a 422."""
    actors, own, _foreign, _missing, context = matrix
    spec = _spec(app)
    creates = [
        o
        for o in _operations(spec)
        if o.method == "POST" and o.path.endswith("s") and "{" in o.path
    ]
    nurse = actors["nurse"]
    created = [
        o.path
        for o in creates
        if nurse.post(o.url(own.ids), json=_body(spec, o.body_schema, own.ids, context)).status_code
        == 201
    ]
    assert "/api/v1/patients/{patient_id}/relatives" in created, created
    assert "/api/v1/meetings/{meeting_id}/minutes/amendments" in created, created
    body = _body(spec, _resolve(spec, {"$ref": "#/components/schemas/Admission"}), own.ids, context)
    assert actors["hospital"].post("/api/v1/admissions", json=body).status_code == 201


def test_a_handed_over_patient_is_foreign_to_the_former_nurse(app, handed_over):
    nurse, side, missing, context = handed_over
    spec = _spec(app)
    statuses, leaks = _run(app, nurse, _operations(spec), spec, side, missing, context)
    assert leaks == [], "\n".join(map(str, leaks))
    assert statuses[404] > sum(statuses.values()) / 2, statuses
    for url in LISTS["nurse"]:
        assert side.patient.name not in nurse.get(url).get_data(as_text=True), url


def test_a_department_loses_sight_when_the_treatment_period_ends(app, treatment_ended):
    hospital, side, missing, context = treatment_ended
    spec = _spec(app)
    statuses, leaks = _run(app, hospital, _operations(spec), spec, side, missing, context)
    assert leaks == [], "\n".join(map(str, leaks))
    assert statuses[404] > sum(statuses.values()) / 2, statuses
    for url in LISTS["hospital"]:
        assert side.patient.name not in hospital.get(url).get_data(as_text=True), url


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
    actors, own, foreign, _, _ = matrix
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
    actors, own, _, _, _ = matrix
    for role in ROLES:
        r = actors[role].get(f"/api/v1/patients/{own.patient.id}")
        assert r.status_code == 200, role
        timeline = actors[role].get(f"/api/v1/patients/{own.patient.id}/timeline")
        assert timeline.status_code == 200, role
