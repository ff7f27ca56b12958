"""Patients, a nurse and their enrollments committed for real (for tests that run on several
connections), and their removal."""

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

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


def make_world(session: Session, n: int) -> list[int]:
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
    """Delete what make_world committed, and the flags and job runs made from it."""
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
