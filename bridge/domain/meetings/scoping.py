"""Access to network meetings: the patient's visibility first (404), then the role (403).

Every meeting operation goes through here and leaves an audit note. Meetings and minutes are the
nurse's (and the admin's) to read and write.
"""

from __future__ import annotations

from sqlalchemy import (
    bindparam,
    select,
)
from sqlalchemy.orm import Session, joinedload

from bridge.domain import audit
from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import read_by_id
from bridge.domain.errors import Forbidden, NotFound
from bridge.domain.meetings.models import (
    NetworkMeeting,
)
from bridge.domain.patients.models import Patient
from bridge.domain.patients.services import read_patient_scoped
from bridge.domain.registry.models import Role

MEETING_ROLES = (Role.ADMIN, Role.NURSE)


# --- access -------------------------------------------------------------------------------------


def _scoped(
    session: Session,
    p: Principal,
    patient_id: int,
    resource_type: str,
    action: str,
    resource_id: object,
    roles: tuple[str, ...] = MEETING_ROLES,
) -> Patient:
    """Visibility first (404), then the role (403), noting the attempt either way."""
    patient = read_patient_scoped(session, p, patient_id, resource_type, action, resource_id)
    if not p.has(*roles):
        audit.mark_last(session, audit.AuditOutcome.FORBIDDEN)
        raise Forbidden("your role may not do this with network meetings")
    return patient


def _not_found(
    session: Session, p: Principal, resource_type: str, resource_id: object, what: str
) -> NotFound:
    audit.record(
        session, p, AuditAction.READ, resource_type, resource_id, None, audit.AuditOutcome.NOT_FOUND
    )
    return NotFound(f"no such {what}")


# The participants joined in: one statement, where selectinload's second one cost the ORM more
# CPU than the meeting itself (a meeting has a handful of participants, so the rows repeat little).
_MEETING_WITH_PARTICIPANTS = (
    select(NetworkMeeting)
    .where(NetworkMeeting.id == bindparam("meeting_id"))
    .options(joinedload(NetworkMeeting.participants))
)


def meeting_with_participants(session: Session, meeting_id: int) -> NetworkMeeting | None:
    """The meeting with its participants loaded, or None."""
    found = session.execute(_MEETING_WITH_PARTICIPANTS, {"meeting_id": meeting_id})
    return found.unique().scalar_one_or_none()


def _load_meeting(
    session: Session,
    p: Principal,
    meeting_id: int,
    action: str = AuditAction.READ,
    *,
    participants: bool = True,
) -> NetworkMeeting:
    """The meeting, checked for access; ``participants=False`` for reads that never show them
    (the minutes, the distributions), which then cost a query less."""
    if participants:
        meeting = meeting_with_participants(session, meeting_id)
    else:
        meeting = read_by_id(session, NetworkMeeting, meeting_id)
    if meeting is None:
        raise _not_found(session, p, "network_meeting", meeting_id, "meeting")
    _scoped(session, p, meeting.patient_id, "network_meeting", action, meeting_id)
    return meeting
