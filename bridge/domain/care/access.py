"""Who may coordinate care and register admissions; a refusal noted in the audit trail."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.errors import Forbidden
from bridge.domain.registry.models import (
    Role,
)

COORDINATORS = (Role.ADMIN, Role.NURSE)
ADMISSION_WRITERS = (Role.ADMIN, Role.NURSE, Role.HOSPITAL)


def _forbid(session: Session, detail: str) -> Forbidden:
    """Mark the audit note just taken as refused, and build the error to raise."""
    audit.mark_last(session, audit.AuditOutcome.FORBIDDEN)
    return Forbidden(detail)
