"""Two scans started at once against one database create each flag once. These tests commit
for real on several connections, so they build and remove their own data."""

import threading
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag
from bridge.domain.identifiers import parse_cpr
from bridge.domain.jobruns import JobRun
from bridge.domain.patients.models import Enrollment, Patient
from bridge.domain.registry.models import (
    BridgeNurse,
    Organisation,
    Role,
    Staff,
    StaffRole,
)
from bridge.extensions import db
from bridge.jobs.runner import run_job

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _world(session: Session, n: int) -> list[int]:
    region = session.scalar(select(Organisation).where(Organisation.region_code == "DK-84"))
    kbh = session.scalar(select(Organisation).where(Organisation.municipality_code == "0101"))
    nurse = Staff(organisation_id=region.id, name="Samtidig Sygeplejerske")
    nurse.role_rows = [StaffRole(role=Role.NURSE)]
    session.add(nurse)
    session.flush()
    session.add(
        BridgeNurse(staff_id=nurse.id, region_id=region.id, region_share=100, caseload_capacity=500)
    )
    ids = []
    for i in range(n):
        cpr = parse_cpr(f"0101{60 + i % 30:02d}{1000 + i:04d}")
        p = Patient(
            cpr=cpr.digits,
            name=f"Samtidig {i}",
            birth_date=cpr.birth_date,
            sex=cpr.sex,
            municipality_id=kbh.id,
            gp_practice_id=None,
        )
        session.add(p)
        session.flush()
        session.add(
            Enrollment(
                patient_id=p.id,
                nurse_id=nurse.id,
                start_date=date(2026, 1, 1),
                reason="test",
                enrolled_by_id=nurse.id,
            )
        )
        ids.append(p.id)
    session.commit()
    return ids, nurse.id


def remove_world(app, ids: list[int], nurse_id: int) -> None:
    """Delete what _world committed, and the flags and job runs made from it."""
    with app.app_context():
        s = db.session
        s.execute(delete(Flag).where(Flag.patient_id.in_(ids) | (Flag.nurse_id == nurse_id)))
        s.execute(delete(JobRun))
        s.execute(delete(Enrollment).where(Enrollment.patient_id.in_(ids)))
        s.execute(delete(Patient).where(Patient.id.in_(ids)))
        s.execute(delete(BridgeNurse).where(BridgeNurse.staff_id == nurse_id))
        s.execute(delete(StaffRole).where(StaffRole.staff_id == nurse_id))
        s.execute(delete(Staff).where(Staff.id == nurse_id))
        s.commit()
        db.session.remove()


def test_two_scans_at_once_create_each_flag_once(app):
    with app.app_context():
        ids, nurse_id = _world(db.session, 40)
        db.session.remove()
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def scan():
        try:
            barrier.wait()
            outcomes.append(run_job(app, "gap_scan", run_gap_scan, NOW))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors
        with app.app_context():
            count = db.session.scalar(
                select(func.count())
                .select_from(Flag)
                .where(Flag.rule == "patient_without_gp", Flag.patient_id.in_(ids))
            )
            assert count == len(ids)
            statuses = sorted(
                db.session.scalars(select(JobRun.status).order_by(JobRun.id.desc()).limit(2)).all()
            )
            # Either the second waited for nothing (lock taken: skipped) or ran after the
            # first had finished (ok, finding every flag already open).
            assert statuses in (["ok", "skipped"], ["ok", "ok"])
    finally:
        remove_world(app, ids, nurse_id)


def test_a_scan_finding_the_lock_taken_does_nothing(app):
    from sqlalchemy import text

    from bridge.jobs.runner import _lock_key

    with app.app_context():
        holder = db.engine.connect()
        tx = holder.begin()
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("gap_scan")})
        try:
            outcome = run_job(app, "gap_scan", run_gap_scan, NOW)
            assert outcome.ran is False
        finally:
            tx.rollback()
            holder.close()
        with app.app_context():
            db.session.execute(delete(JobRun))
            db.session.commit()
