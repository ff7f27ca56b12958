"""Action items of final minutes: done, open again, cancelled."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, Forbidden
from bridge.domain.meetings import grants
from bridge.domain.meetings.minutes import stamp_change
from bridge.domain.meetings.models import (
    ActionItem,
    ActionItemStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.meetings.scoping import MEETING_ROLES, _not_found
from bridge.domain.patients.services import read_patient_scoped

# --- action items -------------------------------------------------------------------------------


def update_action_item(
    session: Session, p: Principal, item_id: int, status: ActionItemStatus
) -> ActionItem:
    """Mark an action item done (or open again); the nurse may also cancel it.

    The responsible organisation may change its own items, if the minutes reached it.
    """
    row = session.execute(
        select(ActionItem, MinutesVersion, NetworkMeeting.patient_id)
        .join(MinutesVersion, MinutesVersion.id == ActionItem.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(ActionItem.id == item_id)
    ).one_or_none()
    if row is None:
        raise _not_found(session, p, "action_item", item_id, "action item")
    item, version, patient_id = row
    if p.has(*MEETING_ROLES):
        read_patient_scoped(session, p, patient_id, "action_item", AuditAction.UPDATE, item_id)
    else:
        # The owner's grant is the distribution that reached it, not seeing the patient: a
        # department that took part owns items of a patient no longer admitted there.
        owner_patient = grants.may_change_own_item(session, p, item_id)
        if owner_patient is None:
            raise _not_found(session, p, "action_item", item_id, "action item")
        audit.record(session, p, AuditAction.UPDATE, "action_item", item_id, owner_patient)
        if status == ActionItemStatus.CANCELLED:
            raise Forbidden("only the bridge nurse may cancel an action item")
    if version.status != MinutesStatus.FINAL:
        raise Conflict("action items of a draft are edited with the draft", allowed=["final"])
    newer = session.scalar(
        select(MinutesVersion.version_no).where(
            MinutesVersion.meeting_id == version.meeting_id,
            MinutesVersion.version_no > version.version_no,
            MinutesVersion.status == MinutesStatus.FINAL,
        )
    )
    if newer is not None:
        raise Conflict(f"these minutes were amended; use the item of version {newer}")
    now = utcnow()
    item.status = status
    item.done_at = now if status == ActionItemStatus.DONE else None
    item.done_by_id = p.staff_id if status == ActionItemStatus.DONE else None
    # The summary changed: move it forward in the municipalities' feed.
    stamp_change(session, version, now)
    session.flush()
    return item
