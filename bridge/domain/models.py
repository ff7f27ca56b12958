"""Imports every model, so the metadata (migrations, create_all) knows the whole schema."""

from bridge.domain.audit import AuditEvent
from bridge.domain.auth.models import StaffLogin
from bridge.domain.idempotency import IdempotencyRecord
from bridge.domain.patients.models import (
    CareTeamMember,
    Consent,
    Diagnosis,
    Enrollment,
    Patient,
    Relative,
)
from bridge.domain.registry.models import (
    ApiToken,
    BridgeNurse,
    NurseFinancing,
    Organisation,
    Staff,
    StaffRole,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "BridgeNurse",
    "CareTeamMember",
    "Consent",
    "Diagnosis",
    "Enrollment",
    "IdempotencyRecord",
    "NurseFinancing",
    "Organisation",
    "Patient",
    "Relative",
    "Staff",
    "StaffLogin",
    "StaffRole",
]
