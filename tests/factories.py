"""Factory fixtures: each returns a callable that makes one thing, committed to the test's
savepoint so that a request's rollback cannot undo it."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bridge.domain.access import Principal, load_principal
from bridge.domain.identifiers import parse_cpr
from bridge.domain.patients.models import Enrollment, Patient
from bridge.domain.registry.models import (
    BridgeNurse,
    NurseFinancing,
    Organisation,
    OrganisationKind,
    Role,
    Specialty,
    Staff,
    StaffRole,
)
from bridge.domain.registry.services import issue_token
from bridge.sampledata.people import make_cpr, make_gln

_seq = itertools.count(1)


@dataclass
class Actor:
    """A staff member with a token, and a client that calls the API as them."""

    staff: Staff
    token: str
    client: Any

    @property
    def id(self) -> int:
        return self.staff.id

    @property
    def organisation_id(self) -> int:
        return self.staff.organisation_id

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, url: str, **kw):
        return self.client.get(url, headers=self.headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, json: Any = None, **kw):
        return self.client.post(url, json=json, headers=self.headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, json: Any = None, **kw):
        return self.client.patch(
            url, json=json, headers=self.headers(kw.pop("headers", None)), **kw
        )

    def put(self, url: str, json: Any = None, **kw):
        return self.client.put(url, json=json, headers=self.headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw):
        return self.client.delete(url, headers=self.headers(kw.pop("headers", None)), **kw)

    def principal(self, session) -> Principal:
        return load_principal(session, self.staff)


@pytest.fixture
def municipality(session):
    def get(code: str = "0101") -> Organisation:
        return session.scalar(select(Organisation).where(Organisation.municipality_code == code))

    return get


@pytest.fixture
def region(session):
    return session.scalar(select(Organisation).where(Organisation.region_code == "DK-84"))


@pytest.fixture
def make_org(session):
    def make(
        kind: OrganisationKind | str = OrganisationKind.GP_PRACTICE, **overrides
    ) -> Organisation:
        kind = OrganisationKind(kind)
        n = next(_seq)
        fields: dict[str, Any] = {"kind": kind, "name": f"{kind.value} {n}"}
        if kind == OrganisationKind.HOSPITAL_DEPARTMENT:
            fields["specialty"] = Specialty.PSYCHIATRY
        if kind in (OrganisationKind.GP_PRACTICE, OrganisationKind.HOSPITAL_DEPARTMENT):
            fields["sor_code"] = f"99{n:010d}"
            fields["gln"] = make_gln(900000 + n)
        if kind == OrganisationKind.GP_PRACTICE:
            fields["ydernummer"] = f"{n % 10**6:06d}"
        fields.update(overrides)
        org = Organisation(**fields)
        session.add(org)
        session.commit()
        return org

    return make


@pytest.fixture
def make_actor(session, client, make_org, municipality):
    """make_actor("nurse"), make_actor("gp", organisation=practice), ..."""

    def make(role: Role | str, organisation: Organisation | None = None, **staff_fields) -> Actor:
        role = Role(role)
        if organisation is None:
            organisation = {
                Role.ADMIN: lambda: make_org(
                    OrganisationKind.REGION, name=f"Admin region {next(_seq)}"
                ),
                Role.NURSE: lambda: session.scalar(
                    select(Organisation).where(Organisation.region_code == "DK-84")
                ),
                Role.MUNICIPALITY: lambda: municipality("0101"),
                Role.GP: lambda: make_org(OrganisationKind.GP_PRACTICE),
                Role.HOSPITAL: lambda: make_org(OrganisationKind.HOSPITAL_DEPARTMENT),
            }[role]()
        staff = Staff(
            organisation_id=organisation.id, name=f"{role.value} {next(_seq)}", **staff_fields
        )
        staff.role_rows = [StaffRole(role=role)]
        session.add(staff)
        session.flush()
        if role == Role.NURSE:
            kbh = municipality("0101")
            nurse = BridgeNurse(
                staff_id=staff.id, region_id=organisation.id, region_share=60, caseload_capacity=25
            )
            nurse.financing = [NurseFinancing(municipality_id=kbh.id, share=40)]
            session.add(nurse)
        secret = issue_token(session, staff, label="test", expires_at=None).secret
        session.commit()
        return Actor(staff=staff, token=secret, client=client)

    return make


@pytest.fixture
def make_patient(session, municipality, make_org):
    rng = random.Random(1234)

    def make(
        *,
        nurse: Actor | None = None,
        gp: Organisation | None = None,
        municipality_code: str = "0101",
        **overrides,
    ) -> Patient:
        cpr = overrides.pop("cpr", None) or make_cpr(rng)
        while session.scalar(select(Patient.id).where(Patient.cpr == cpr)) is not None:
            cpr = make_cpr(rng)
        parsed = parse_cpr(cpr)
        fields: dict[str, Any] = {
            "cpr": parsed.digits,
            "name": f"Patient {next(_seq)}",
            "birth_date": parsed.birth_date,
            "sex": parsed.sex,
            "municipality_id": municipality(municipality_code).id,
            "gp_practice_id": (gp or make_org(OrganisationKind.GP_PRACTICE)).id,
        }
        fields.update(overrides)
        patient = Patient(**fields)
        session.add(patient)
        session.flush()
        if nurse is not None:
            session.add(
                Enrollment(
                    patient_id=patient.id,
                    nurse_id=nurse.id,
                    start_date=date(2026, 1, 5),
                    reason="test",
                    enrolled_by_id=nurse.id,
                )
            )
        session.commit()
        return patient

    return make


@pytest.fixture
def department(make_org):
    """Make a hospital department (psychiatric unless told otherwise)."""

    def make(specialty: Specialty = Specialty.PSYCHIATRY):
        return make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=specialty)

    return make
