"""The spec says which response fields may be null, and says it from the stored columns."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect as sa_inspect

from bridge.api.admissions import AdmissionSchema
from bridge.domain.care.models import Admission
from bridge.domain.registry.models import OrganisationKind, Specialty
from tests.support.care import admit


@pytest.fixture
def spec(app) -> dict[str, Any]:
    return app.extensions["bridge_api"].spec.to_dict()


def _nulls_not_declared(body: dict[str, Any], component: dict[str, Any]) -> list[str]:
    properties = component["properties"]
    return sorted(
        key
        for key, value in body.items()
        if value is None and not properties.get(key, {}).get("nullable")
    )


def test_every_null_in_common_answers_is_declared_nullable(
    make_actor, make_patient, make_org, spec
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    components = spec["components"]["schemas"]
    department = make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)

    stay = admit(nurse, patient, department)  # open: not discharged, no destination
    assert stay.status_code == 201
    assert stay.json["discharged_at"] is None
    assert _nulls_not_declared(stay.json, components["Admission"]) == []

    enrollments = nurse.get(f"/api/v1/patients/{patient.id}/enrollments").json
    active = enrollments["items"] if isinstance(enrollments, dict) else enrollments
    assert active[0]["end_date"] is None
    assert _nulls_not_declared(active[0], components["Enrollment"]) == []

    consent = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={"recipient_kind": "social_psychiatry_facility", "scope": "minutes"},
    )
    assert consent.status_code == 201
    assert consent.json["withdrawn_at"] is None
    consent_schema = spec["paths"]["/api/v1/patients/{patient_id}/consents"]["post"]["responses"][
        "201"
    ]["content"]["application/json"]["schema"]
    consent_component = (
        components[consent_schema["$ref"].rsplit("/", 1)[1]]
        if "$ref" in consent_schema
        else consent_schema
    )
    assert _nulls_not_declared(consent.json, consent_component) == []


def test_nullability_follows_the_model():
    """Every field showing a column is nullable exactly when the column is."""
    columns = sa_inspect(Admission).columns
    for name, field in AdmissionSchema._declared_fields.items():
        column = columns.get(field.attribute or name)
        if column is not None:
            assert field.allow_none == column.nullable, name
