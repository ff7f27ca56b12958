"""Concurrency: these tests commit for real, on more than one connection, and clean up after.

They do not use the ``session`` fixture (whose single rolled-back transaction would hide what
other connections do); every request commits as in production.
"""

from __future__ import annotations

import itertools
import time
from datetime import date

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.orm import Session

from bridge.domain.access import load_principal
from bridge.domain.base import Base, utcnow
from bridge.domain.meetings import minutes as minutes_service
from bridge.domain.meetings.models import MinutesVersion
from bridge.domain.patients.models import Consent, Enrollment, Patient
from bridge.domain.registry.models import (
    BridgeNurse,
    Organisation,
    OrganisationKind,
    Role,
    Staff,
    StaffRole,
)
from bridge.domain.registry.services import issue_token
from bridge.extensions import db
from bridge.sampledata.people import make_cpr
from tests.factories import Actor
from tests.support.meetings import draft_minutes, finalise, held_meeting

_n = itertools.count(1)


@pytest.fixture
def engine(app):
    with app.app_context():
        yield db.engine


@pytest.fixture
def committed(engine):
    """Remove every row committed during the test (rows with ids above today's maxima)."""
    with engine.connect() as conn:
        marks = {
            t.name: conn.scalar(select(func.coalesce(func.max(t.c.id), 0)))
            for t in Base.metadata.sorted_tables
            if "id" in t.c
        }
    yield
    staff_max = marks["staff"]
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if "id" in table.c:
                conn.execute(delete(table).where(table.c.id > marks[table.name]))
                continue
            # Tables keyed by a staff member (roles, nurses, their financing).
            for col in table.c:
                if any(
                    fk.column.table.name in ("staff", "bridge_nurse") for fk in col.foreign_keys
                ):
                    conn.execute(delete(table).where(col > staff_max))
                    break


@pytest.fixture
def world(app, engine, committed):
    """A municipality of its own, a nurse, a GP, and a way to add consenting citizens."""
    import random

    rng = random.Random(next(_n) * 7919)
    with Session(engine, expire_on_commit=False) as s:
        region = s.scalar(select(Organisation).where(Organisation.region_code == "DK-84"))
        muni = Organisation(
            kind=OrganisationKind.MUNICIPALITY, name="Samtidig Kommune", municipality_code="9901"
        )
        gp = Organisation(kind=OrganisationKind.GP_PRACTICE, name="Samtidig Lægehus")
        s.add_all([muni, gp])
        s.flush()

        def actor(role: Role, org: Organisation) -> tuple[Staff, str]:
            staff = Staff(organisation_id=org.id, name=f"{role.value} {next(_n)}")
            staff.role_rows = [StaffRole(role=role)]
            s.add(staff)
            s.flush()
            if role == Role.NURSE:
                s.add(
                    BridgeNurse(
                        staff_id=staff.id, region_id=org.id, region_share=100, caseload_capacity=50
                    )
                )
            return staff, issue_token(s, staff, label="test", expires_at=None).secret

        nurse_staff, nurse_token = actor(Role.NURSE, region)
        muni_staff, muni_token = actor(Role.MUNICIPALITY, muni)
        s.commit()

    client = app.test_client()

    def citizen() -> int:
        with Session(engine) as s:
            cpr = make_cpr(rng)
            while s.scalar(select(Patient.id).where(Patient.cpr == cpr)):
                cpr = make_cpr(rng)
            from bridge.domain.identifiers import parse_cpr

            parsed = parse_cpr(cpr)
            patient = Patient(
                cpr=parsed.digits,
                name=f"Borger {next(_n)}",
                birth_date=parsed.birth_date,
                sex=parsed.sex,
                municipality_id=muni.id,
                gp_practice_id=gp.id,
            )
            s.add(patient)
            s.flush()
            s.add(
                Enrollment(
                    patient_id=patient.id,
                    nurse_id=nurse_staff.id,
                    start_date=date(2026, 1, 5),
                    reason="test",
                    enrolled_by_id=nurse_staff.id,
                )
            )
            s.add(
                Consent(
                    patient_id=patient.id,
                    recipient_organisation_id=muni.id,
                    scope="minutes",
                    given_at=utcnow(),
                )
            )
            s.commit()
            return patient.id

    return {
        "nurse": Actor(nurse_staff, nurse_token, client),
        "municipality": Actor(muni_staff, muni_token, client),
        "nurse_staff": nurse_staff,
        "citizen": citizen,
    }


def _draft(nurse: Actor, patient_id: int) -> int:
    meeting = held_meeting(nurse, patient_id)
    draft_minutes(nurse, meeting["id"])
    return meeting["id"]


def test_sync_paging_while_minutes_are_finalised_sees_every_summary_once(engine, world):
    nurse, muni = world["nurse"], world["municipality"]
    meetings = [_draft(nurse, world["citizen"]()) for _ in range(6)]
    for meeting_id in meetings[:3]:
        finalise(nurse, meeting_id)

    seen: list[int] = []

    def page(cursor: str | None) -> tuple[str | None, bool]:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = muni.get("/api/v1/municipalities/9901/meeting-summaries", query_string=query)
        assert r.status_code == 200, r.json
        seen.extend(s["meeting_id"] for s in r.json["items"])
        return r.json["next_cursor"], r.json["has_more"]

    def drain(cursor: str | None) -> str | None:
        more = True
        while more:
            cursor, more = page(cursor)
        return cursor

    cursor = page(None)[0]

    # A slow writer: draws its change number first, commits last.
    with Session(engine) as slow:
        principal = load_principal(slow, slow.get(Staff, world["nurse_staff"].id))
        version = minutes_service.get_minutes_for_update(slow, principal, meetings[3], 1)
        minutes_service.finalise_minutes(slow, principal, version)
        slow.flush()
        # A quick writer draws a later number and commits while the slow one is still open.
        finalise(nurse, meetings[4])
        cursor = drain(cursor)
        assert meetings[4] not in seen, "served past a transaction that may still commit"
        slow.commit()

    finalise(nurse, meetings[5])
    # The feed waits for the oldest running transaction of the whole cluster (other test runs
    # share this PostgreSQL), so poll as an integration would until everything has settled.
    deadline = time.monotonic() + 30
    while len(seen) < len(meetings) and time.monotonic() < deadline:
        cursor = drain(cursor)
        time.sleep(0.05)
    drain(cursor)  # a poll after the end returns nothing new

    assert sorted(seen) == sorted(meetings)
    assert len(seen) == len(set(seen))


def test_a_writer_between_read_and_flush_gets_412_and_its_change_survives(engine, world):
    nurse = world["nurse"]
    meeting_id = _draft(nurse, world["citizen"]())
    url = f"/api/v1/meetings/{meeting_id}/minutes/1"
    etag = nurse.get(url).headers["ETag"]
    version_id = nurse.get(url).json["id"]

    fired = []

    def sneak_in(session, flush_context, instances):
        # Another nurse saves after this request checked If-Match but before it writes.
        if fired or not any(isinstance(o, MinutesVersion) for o in session.dirty):
            return
        fired.append(True)
        with engine.begin() as other:
            other.execute(
                update(MinutesVersion)
                .where(MinutesVersion.id == version_id)
                .values(
                    summary="den anden sygeplejerskes tekst", version=MinutesVersion.version + 1
                )
            )

    event.listen(Session, "before_flush", sneak_in)
    try:
        r = nurse.patch(url, json={"summary": "min tekst"}, headers={"If-Match": etag})
    finally:
        event.remove(Session, "before_flush", sneak_in)
    assert fired
    assert r.status_code == 412, r.json

    with engine.connect() as conn:
        stored = conn.scalar(
            text("SELECT summary FROM minutes_version WHERE id = :id"), {"id": version_id}
        )
    assert stored == "den anden sygeplejerskes tekst"
