"""`bridge scan` on the SQLite demo: every rule's SQL runs there too, dates included."""

from datetime import timedelta

from sqlalchemy import select

from bridge import create_app
from bridge.domain.base import utcnow
from bridge.domain.care.models import Admission, Destination
from bridge.domain.gaps.engine import RULES
from bridge.domain.patients.models import Enrollment
from bridge.domain.registry.models import Organisation, OrganisationKind, Specialty
from bridge.extensions import db


def _stays(app) -> None:
    """A discharge without a plan, a readmission and a dual admission of an enrolled patient:
    the rules whose date arithmetic differs between PostgreSQL and SQLite."""
    now = utcnow()
    with app.app_context():
        session = db.session
        patient_id = session.scalar(
            select(Enrollment.patient_id).where(Enrollment.end_date.is_(None))
        )
        wards = {}
        for specialty in (Specialty.PSYCHIATRY, Specialty.SOMATIC):
            ward = Organisation(
                kind=OrganisationKind.HOSPITAL_DEPARTMENT,
                name=f"{specialty} ward",
                specialty=specialty,
            )
            session.add(ward)
            wards[specialty] = ward
        session.flush()

        def stay(specialty, admitted, discharged=None):
            session.add(
                Admission(
                    patient_id=patient_id,
                    department_id=wards[specialty].id,
                    specialty=specialty,
                    acute=True,
                    admitted_at=now - timedelta(days=admitted),
                    discharged_at=None if discharged is None else now - timedelta(days=discharged),
                    destination=None if discharged is None else Destination.HOME,
                )
            )
            session.flush()

        stay(Specialty.PSYCHIATRY, 20, 15)
        stay(Specialty.PSYCHIATRY, 5)
        stay(Specialty.SOMATIC, 3)
        session.commit()


def test_bridge_scan_runs_every_rule_on_the_sqlite_demo(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.sqlite3'}"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    _stays(app)
    result = runner.invoke(args=["scan"])
    assert result.exit_code == 0, result.output
    opened = {line.split()[0]: int(line.split()[1]) for line in result.output.splitlines()[1:]}
    assert set(opened) == set(RULES)
    for rule in ("discharge_without_plan", "readmitted_within_30_days", "dual_admission"):
        assert opened[rule] >= 1, result.output
    again = runner.invoke(args=["scan"])  # a second scan updates, never duplicates
    assert again.exit_code == 0, again.output
    assert all(int(line.split()[1]) == 0 for line in again.output.splitlines()[1:])
