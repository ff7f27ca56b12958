"""Dates and timestamps outside a plausible window are refused with 422 naming the field."""

from __future__ import annotations

import inspect

import pytest
from marshmallow import Schema, fields

import bridge.api as api_package
from bridge.api.schemas import CopenhagenDateTime, Day
from bridge.domain.registry.models import OrganisationKind, Specialty
from tests.support.care import admit


@pytest.fixture
def department(make_org):
    return make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)


@pytest.mark.parametrize(
    "at",
    [
        "0445-03-01T10:00:00+01:00",  # the year 445 the issue found stored
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC: must not overflow into a 500
        "9999-12-31T23:30:00-01:00",  # after year 9999 in UTC, likewise
        "1999-12-31T22:59:59Z",  # a stay registered in Bridge is of the electronic era
        "2101-01-01T00:00:00Z",
    ],
)
def test_admission_outside_the_window_is_422_naming_the_field(
    make_actor, make_patient, department, at
):
    nurse = make_actor("nurse")
    r = admit(nurse, make_patient(nurse=nurse), department, at=at)
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert "between 2000-01-01 and 2100-12-31" in r.json["errors"]["admitted_at"][0]


def test_the_window_edges_are_inside(make_actor, make_patient, department):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    r = admit(nurse, patient, department, at="2000-01-01T00:00:00+00:00")
    assert r.status_code == 201, r.json
    assert r.json["admitted_at"] == "2000-01-01T01:00:00+01:00"


def test_a_diagnosis_may_be_old_but_not_ancient(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    url = f"/api/v1/patients/{patient.id}/diagnoses"
    assert nurse.post(url, json={"code": "DF20", "diagnosed_on": "1968-05-02"}).status_code == 201
    r = nurse.post(url, json={"code": "DF20", "diagnosed_on": "1899-12-31"})
    assert r.status_code == 422
    assert "between 1900-01-01 and 2100-12-31" in r.json["errors"]["diagnosed_on"][0]


def test_dates_in_plans_and_query_strings_are_bounded_too(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    r = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={
            "recipient_kind": "social_psychiatry_facility",
            "scope": "minutes",
            "given_at": "3026-01-01T10:00Z",
        },
    )
    assert r.status_code == 422 and "given_at" in r.json["errors"]
    r = nurse.get("/api/v1/follow-ups?due_before=0445-01-01T00:00:00Z")
    assert r.status_code == 422 and "due_before" in r.json["errors"]
    r = nurse.get("/api/v1/organisations?valid_on=1066-10-14")
    assert r.status_code == 422 and "valid_on" in r.json["errors"]


def test_the_spec_states_the_window():
    from bridge import create_app

    spec = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).extensions["bridge_api"].spec
    admission = spec.to_dict()["components"]["schemas"]["Admission"]["properties"]
    assert "between 2000-01-01 and 2100-12-31" in admission["admitted_at"]["description"]


def _api_schemas() -> list[type[Schema]]:
    import importlib
    import pkgutil

    found: list[type[Schema]] = []
    for module_info in pkgutil.iter_modules(api_package.__path__):
        module = importlib.import_module(f"bridge.api.{module_info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Schema) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_date_the_api_reads_is_bounded():
    """One mechanism: a new date field that is not a bounded one fails here."""
    schemas = _api_schemas()
    assert len(schemas) > 30
    unbounded = [
        f"{schema.__name__}.{name}"
        for schema in schemas
        for name, field in schema._declared_fields.items()
        if isinstance(field, fields.Date | fields.DateTime)
        and not isinstance(field, Day | CopenhagenDateTime)
        and not field.dump_only
    ]
    assert unbounded == []
