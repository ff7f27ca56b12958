"""Bootstrapping the first administrator."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.registry.models import Organisation, OrganisationKind, Role, Staff, StaffRole
from bridge.domain.registry.services import issue_token


def create_admin(session: Session, *, name: str, email: str | None) -> str:
    """Create an admin staff member and return a new token's secret."""
    org = session.scalar(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.REGION)
        .order_by(Organisation.id)
    )
    if org is None:
        org = Organisation(kind=OrganisationKind.REGION, name="Bridge")
        session.add(org)
        session.flush()
    staff = Staff(organisation_id=org.id, name=name, email=email)
    staff.role_rows = [StaffRole(role=Role.ADMIN)]
    session.add(staff)
    session.flush()
    return issue_token(session, staff, label="create-admin", expires_at=None).secret
