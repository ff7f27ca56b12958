"""The synthetic data set is deterministic, well formed, and has a few percent of gaps."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.patients.models import Patient
from bridge.synthetic import seed_synthetic


def test_synthetic_data_has_realistic_gaps(session, make_patient):
    counts = seed_synthetic(session, patients=300, seed=3)
    session.commit()
    assert counts["patients"] == 300 and counts["enrollments"] == 300
    summary = run_gap_scan(session, datetime.now(UTC))
    assert summary["caseload_over_capacity"]["opened"] == 0
    assert 0 < summary["patient_without_gp"]["opened"] < 15
    assert summary["somatic_screening_overdue"]["opened"] < 30
    # a new patient through the ORM still gets a fresh id: sequences were moved past the bulk ids
    newest = session.scalar(select(func.max(Patient.id)))
    assert make_patient().id > newest
