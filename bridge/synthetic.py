"""A national-size synthetic data set for benchmarks: ``bridge seed-synthetic --patients N``.

Deterministic for a given seed. Rows go in with bulk Core inserts in batches, and ids are
assigned here rather than read back, so 100,000 patients take minutes, not hours.
"""

from __future__ import annotations

import enum
import io
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from bridge.domain.gaps.models import SomaticScreening
from bridge.domain.identifiers import is_psychosis, parse_cpr
from bridge.domain.patients.models import Diagnosis, Enrollment, Patient
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
from bridge.domain.seeding import (
    DIAGNOSES,
    FIRST_NAMES,
    LAST_NAMES,
    first_name,
    make_cpr,
    make_gln,
    seed_reference,
)

BATCH = 5000
GP_PRACTICES = 1700
CASELOAD = 35


@dataclass
class SyntheticWorld:
    """What later steps need to know about what earlier steps made."""

    rng: random.Random
    now: datetime
    regions: list[int] = field(default_factory=list)
    municipalities: list[int] = field(default_factory=list)
    region_of_municipality: dict[int, int] = field(default_factory=dict)
    gp_practices: list[int] = field(default_factory=list)
    psych_departments: list[int] = field(default_factory=list)
    somatic_departments: list[int] = field(default_factory=list)
    nurses_by_region: dict[int, list[int]] = field(default_factory=dict)
    patients: list[dict[str, Any]] = field(default_factory=list)
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # Filled by the history steps (bridge.synthetic_history) for the steps after them.
    admissions: list[dict[str, Any]] = field(default_factory=list)
    gp_distributions: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


# Areas built on the registry append steps (admissions, meetings, notifications ...).
Step = Callable[[Session, SyntheticWorld], None]
STEPS: list[Step] = []


def synthetic_step(fn: Step) -> Step:
    """Add a generation step, run in registration order after the registry's own."""
    STEPS.append(fn)
    return fn


def bulk_insert(session: Session, model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows in batches; returns how many.

    Core, not the ORM's bulk path: the ORM splits a batch into one statement per pattern of
    NULLs, which for rows with many optional columns means thousands of round trips. Core needs
    the same keys in every row of one statement, so a batch is split by its rows' key sets.
    """
    table = model.__table__
    statement = insert(table)
    connection = session.connection()
    copy = connection.dialect.name == "postgresql"
    batch: list[dict[str, Any]] = []
    total = 0

    def flush() -> None:
        by_keys: dict[frozenset[str], list[dict[str, Any]]] = {}
        for row in batch:
            by_keys.setdefault(frozenset(row), []).append(row)
        for group in by_keys.values():
            if copy:
                _copy(connection, table, group)
            else:
                connection.execute(statement, group)

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
            total += len(batch)
            batch = []
    if batch:
        flush()
        total += len(batch)
    return total


_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """One value in COPY's text format."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return value.translate(_SPECIAL)
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, enum.Enum):
        value = value.value
    elif isinstance(value, date | datetime):
        value = value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).translate(_SPECIAL)


def _copy(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY: several times faster than multi-row INSERTs for large batches."""
    keys = list(rows[0])
    # Python-side column defaults (version=1, active=True, created_at=now) for absent keys,
    # as an INSERT through Core would have applied them.
    defaults = {}
    for column in table.columns:
        if column.key not in rows[0] and column.default is not None:
            arg = column.default.arg
            defaults[column.key] = arg(None) if callable(arg) else arg
    names = keys + list(defaults)
    buffer = io.StringIO()
    tail = [_copy_value(v) for v in defaults.values()]
    for row in rows:
        buffer.write("\t".join([*(_copy_value(row[k]) for k in keys), *tail]) + "\n")
    buffer.seek(0)
    columns = ", ".join(f'"{table.columns[k].name}"' for k in names)
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.copy_expert(f'COPY "{table.name}" ({columns}) FROM STDIN', buffer)


def next_id(session: Session, model: Any) -> int:
    """The first free id of a table (ids are assigned here for bulk inserts)."""
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def reset_sequences(session: Session) -> None:
    """After inserting explicit ids, move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text("""
        DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT c.relname AS seq, t.relname AS tbl, a.attname AS col
                 FROM pg_class c JOIN pg_depend d ON d.objid = c.oid
                 JOIN pg_class t ON d.refobjid = t.oid
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                 WHERE c.relkind = 'S' LOOP
          EXECUTE format('SELECT setval(%L, COALESCE((SELECT max(%I) FROM %I), 0) + 1, false)',
                         r.seq, r.col, r.tbl);
        END LOOP; END $$;
    """)
    )


def seed_synthetic(
    session: Session, *, patients: int, seed: int = 1, now: datetime | None = None
) -> dict[str, int]:
    """Generate the data set; returns row counts per kind."""
    # The history steps register themselves on import (they import this module).
    import bridge.synthetic_history  # noqa: F401

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
