"""A national-size synthetic data set for benchmarks: ``bridge seed-synthetic --patients N``.

Deterministic for a given seed. Rows go in with bulk Core inserts in batches, and ids are
assigned here rather than read back, so 100,000 patients take minutes, not hours.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bridge.domain.care.models import FollowUpTask
from bridge.domain.gaps.models import SomaticScreening
from bridge.domain.identifiers import is_psychosis, parse_cpr
from bridge.domain.patients.models import Diagnosis, Enrollment, Patient
from bridge.domain.reference import seed_reference
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
from bridge.sampledata import history, meeting_history
from bridge.sampledata.people import (
    DIAGNOSES,
    FIRST_NAMES,
    LAST_NAMES,
    first_name,
    make_cpr,
    make_gln,
)
from bridge.sampledata.world import Step, SyntheticWorld, bulk_insert, next_id, reset_sequences

#: The history, in the order it is made (later steps read what earlier ones left in the world).
STEPS: tuple[Step, ...] = (
    history.consents,
    history.admissions,
    history.statutory_plans,
    history.follow_up_tasks,
    meeting_history.meetings,
    meeting_history.notifications,
)

GP_PRACTICES = 1700
CASELOAD = 35


def seed_synthetic(
    session: Session, *, patients: int, seed: int = 1, now: datetime | None = None
) -> dict[str, int]:
    """Generate the data set; returns row counts per kind."""
    seed_reference(session)
    if session.get_bind().dialect.name == "postgresql":
        # The ids are consistent by construction; checking each of a million foreign keys one
        # row at a time would take most of the run. Only for this transaction.
        session.execute(text("SET LOCAL session_replication_role = replica"))
    world = SyntheticWorld(rng=random.Random(seed), now=now or datetime.now(UTC))
    _registry(session, world)
    _patients(session, world, patients)
    for step in STEPS:
        step(session, world)
    if session.get_bind().dialect.name == "postgresql":
        # Replica mode kept the triggers from firing: each task's copy of its patient's
        # municipality and GP practice (the worklists' index, migration followup_home_1) is
        # filled here, in one statement.
        session.execute(
            update(FollowUpTask)
            .where(Patient.id == FollowUpTask.patient_id)
            .values(
                patient_municipality_id=Patient.municipality_id,
                patient_gp_practice_id=Patient.gp_practice_id,
            )
        )
    reset_sequences(session)
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics: planned on the empty tables' estimates, the first gap scan after a
        # bulk load chose nested loops over a million rows and ran for minutes instead of seconds.
        session.execute(text("ANALYZE"))
    return world.counts


def _registry(session: Session, world: SyntheticWorld) -> None:
    orgs = session.execute(
        select(Organisation.id, Organisation.kind, Organisation.parent_id)
        .where(Organisation.kind.in_([OrganisationKind.REGION, OrganisationKind.MUNICIPALITY]))
        # A fixed order: the random draws below depend on it.
        .order_by(Organisation.id)
    ).all()
    world.regions = [o.id for o in orgs if o.kind == OrganisationKind.REGION]
    world.municipalities = [o.id for o in orgs if o.kind == OrganisationKind.MUNICIPALITY]
    world.region_of_municipality = {
        o.id: o.parent_id for o in orgs if o.kind == OrganisationKind.MUNICIPALITY
    }
    org_id = next_id(session, Organisation)
    rows: list[dict[str, Any]] = []
    for region in world.regions:
        for hospital_no in range(3):
            hospital = org_id
            rows.append(
                {
                    "id": hospital,
                    "kind": OrganisationKind.HOSPITAL,
                    "name": f"Syntetisk hospital {region}-{hospital_no}",
                    "parent_id": region,
                    "version": 1,
                    "created_at": world.now,
                }
            )
            org_id += 1
            for specialty, target in (
                (Specialty.PSYCHIATRY, world.psych_departments),
                (Specialty.SOMATIC, world.somatic_departments),
            ):
                for dept_no in range(3):
                    rows.append(
                        {
                            "id": org_id,
                            "kind": OrganisationKind.HOSPITAL_DEPARTMENT,
                            "name": f"Afsnit {specialty.value} {hospital}-{dept_no}",
                            "parent_id": hospital,
                            "specialty": specialty,
                            "sor_code": f"7{org_id:014d}",
                            "gln": make_gln(5_000_000 + org_id),
                            "version": 1,
                            "created_at": world.now,
                        }
                    )
                    target.append(org_id)
                    org_id += 1
    for n in range(GP_PRACTICES):
        rows.append(
            {
                "id": org_id,
                "kind": OrganisationKind.GP_PRACTICE,
                "name": f"Lægepraksis {n + 1}",
                "ydernummer": f"{100000 + n}",
                "sor_code": f"8{org_id:014d}",
                "gln": make_gln(6_000_000 + org_id),
                "version": 1,
                "created_at": world.now,
            }
        )
        world.gp_practices.append(org_id)
        org_id += 1
    world.counts["organisations"] = bulk_insert(session, Organisation, rows)


def _nurses(session: Session, world: SyntheticWorld, patients_per_region: dict[int, int]) -> None:
    """Enough nurses per region for caseloads around 90 % of capacity."""
    rng = world.rng
    staff_id = next_id(session, Staff)
    staff_rows, role_rows, nurse_rows, financing = [], [], [], []
    i = 0
    for region, n_patients in sorted(patients_per_region.items()):
        for _ in range(max(1, -(-n_patients * 10 // (CASELOAD * 9)))):
            i += 1
            staff_rows.append(
                {
                    "id": staff_id,
                    "organisation_id": region,
                    "active": True,
                    "name": f"{rng.choice(FIRST_NAMES)} Brobygger {i}",
                    "version": 1,
                    "created_at": world.now,
                }
            )
            role_rows.append({"staff_id": staff_id, "role": Role.NURSE})
            nurse_rows.append(
                {
                    "staff_id": staff_id,
                    "region_id": region,
                    "region_share": 50,
                    "caseload_capacity": CASELOAD,
                    "active": True,
                    "version": 1,
                    "created_at": world.now,
                }
            )
            munis = [m for m, r in world.region_of_municipality.items() if r == region]
            financing.append(
                {"nurse_id": staff_id, "municipality_id": rng.choice(munis), "share": 50}
            )
            world.nurses_by_region.setdefault(region, []).append(staff_id)
            staff_id += 1
    world.counts["staff"] = bulk_insert(session, Staff, staff_rows)
    bulk_insert(session, StaffRole, role_rows)
    world.counts["nurses"] = bulk_insert(session, BridgeNurse, nurse_rows)
    bulk_insert(session, NurseFinancing, financing)


def _patients(session: Session, world: SyntheticWorld, n: int) -> None:
    rng = world.rng
    patient_id = next_id(session, Patient)
    enrollment_id = next_id(session, Enrollment)
    taken = set(session.scalars(select(Patient.cpr)).all())
    patient_rows, enrollment_rows, diagnosis_rows, screenings = [], [], [], []
    today = world.now.date()
    homes = [rng.choice(world.municipalities) for _ in range(n)]
    per_region: dict[int, int] = {}
    for municipality in homes:
        region = world.region_of_municipality[municipality]
        per_region[region] = per_region.get(region, 0) + 1
    _nurses(session, world, per_region)
    turn: dict[int, int] = {}  # round robin within each region keeps caseloads even
    for i in range(n):
        cpr = make_cpr(rng)
        while cpr in taken:
            cpr = make_cpr(rng)
        taken.add(cpr)
        parsed = parse_cpr(cpr)
        municipality = homes[i]
        region = world.region_of_municipality[municipality]
        patient = {
            "id": patient_id,
            "cpr": cpr,
            "birth_date": parsed.birth_date,
            "sex": parsed.sex,
            "name": f"{first_name(rng, parsed.sex)} {rng.choice(LAST_NAMES)}",
            "municipality_id": municipality,
            # about 1 in 100 is listed with no GP: a gap the scan must find
            "gp_practice_id": None if rng.random() < 0.01 else rng.choice(world.gp_practices),
            "status": "active",
            "version": 1,
            "created_at": world.now,
            "updated_at": world.now,
        }
        patient_rows.append(patient)
        world.patients.append(
            {
                "id": patient_id,
                "municipality_id": municipality,
                "gp_practice_id": patient["gp_practice_id"],
                "region": region,
            }
        )
        code, description = DIAGNOSES[i % 5]
        diagnosis_rows.append(
            {
                "patient_id": patient_id,
                "code": code,
                "psychiatric": True,
                "description": description,
                "created_at": world.now,
            }
        )
        if is_psychosis(code) and rng.random() < 0.95:
            screenings.append(
                {
                    "patient_id": patient_id,
                    "created_at": world.now,
                    "screened_on": today - timedelta(days=rng.randrange(1, 330)),
                }
            )
        if i % 4 == 0:
            code, description = DIAGNOSES[5 + i % 3]
            diagnosis_rows.append(
                {
                    "patient_id": patient_id,
                    "code": code,
                    "psychiatric": False,
                    "description": description,
                    "created_at": world.now,
                }
            )
        nurses = world.nurses_by_region[region]
        turn[region] = turn.get(region, 0) + 1
        nurse = nurses[turn[region] % len(nurses)]
        start = today - timedelta(days=rng.randrange(30, 3 * 365))
        enrollment = {
            "id": enrollment_id,
            "patient_id": patient_id,
            "nurse_id": nurse,
            "start_date": start,
            "reason": "Svær psykisk sygdom",
            "enrolled_by_id": nurse,
            "version": 1,
            "created_at": world.now,
        }
        enrollment_rows.append(enrollment)
        world.enrollments.append(
            {"id": enrollment_id, "patient_id": patient_id, "nurse_id": nurse, "start_date": start}
        )
        patient_id += 1
        enrollment_id += 1
    world.counts["patients"] = bulk_insert(session, Patient, patient_rows)
    world.counts["enrollments"] = bulk_insert(session, Enrollment, enrollment_rows)
    world.counts["diagnoses"] = bulk_insert(session, Diagnosis, diagnosis_rows)
    world.counts["screenings"] = bulk_insert(session, SomaticScreening, screenings)
