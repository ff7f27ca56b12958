"""Imports every model, so the metadata (migrations, create_all) knows the whole schema."""

from bridge.domain.audit import AuditEvent
from bridge.domain.care.models import (
    Admission,
    FollowUpTask,
    FollowUpTemplate,
    PlanEffort,
    StatutoryPlan,
    StatutoryPlanParticipant,
)
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
    "Admission",
    "ApiToken",
    "AuditEvent",
    "BridgeNurse",
    "CareTeamMember",
    "Consent",
    "Diagnosis",
    "Enrollment",
    "FollowUpTask",
    "FollowUpTemplate",
    "IdempotencyRecord",
    "NurseFinancing",
    "Organisation",
    "Patient",
    "PlanEffort",
    "Relative",
    "Staff",
    "StaffRole",
    "StatutoryPlan",
    "StatutoryPlanParticipant",
]
