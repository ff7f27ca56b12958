"""Full CPR numbers for the patient's own municipality and GP practice.

A municipality's case system (Nexus and others) keys citizens by CPR, and the municipality and
the GP already hold their citizens' and listed patients' CPR and receive Bridge's summaries on a
legal basis. So they may ask for the full number with what they read; everybody else sees it
masked. Every number handed out is a read of its own in the patient's access log
(resource ``patient_cpr``, as the nurse's "show CPR" is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.errors import Forbidden
from bridge.domain.patients.models import Patient, PatientRecord
from bridge.domain.registry.models import Role

#: The audit resource of a disclosed CPR number.
RESOURCE = "patient_cpr"


def entitled(p: Principal, municipality_id: int | None, gp_practice_id: int | None) -> bool:
    """Whether the caller is the patient's own municipality or GP practice."""
    own_municipality = (
        p.has(Role.MUNICIPALITY)
        and p.municipality_id is not None
        and p.municipality_id == municipality_id
    )
    own_gp = p.has(Role.GP) and gp_practice_id is not None and gp_practice_id == p.organisation_id
    return own_municipality or own_gp


def disclose(session: Session, p: Principal, patient_id: int, cpr: str) -> str:
    """Hand out a full CPR number the caller is entitled to, noting it in the access log."""
    audit.record(session, p, AuditAction.READ, RESOURCE, patient_id, patient_id)
    return cpr


@dataclass(frozen=True)
class PatientWithCpr:
    """A patient as read by its own municipality or GP, with the full CPR number."""

    patient: Patient | PatientRecord
    disclosed_cpr: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.patient, name)


def patient_with_cpr(
    session: Session, p: Principal, patient: Patient | PatientRecord
) -> PatientWithCpr:
    """The (visible) patient with its full CPR, for its own municipality or GP only (403)."""
    if not entitled(p, patient.municipality_id, patient.gp_practice_id):
        audit.record(
            session,
            p,
            AuditAction.READ,
            RESOURCE,
            patient.id,
            patient.id,
            audit.AuditOutcome.FORBIDDEN,
        )
        raise Forbidden("only the patient's own municipality or GP practice receives the full CPR")
    return PatientWithCpr(patient, disclose(session, p, patient.id, patient.cpr))
