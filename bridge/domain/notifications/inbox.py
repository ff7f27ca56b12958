"""The recipients' inbox: what was sent to an organisation, read and acknowledged there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.errors import NotFound
from bridge.domain.notifications import texts
from bridge.domain.notifications.enqueue import _patient_names
from bridge.domain.notifications.models import (
    Channel,
    Notification,
    NotificationStatus,
)
from bridge.domain.notifications.outcomes import report_outcome
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.patients import cpr as cpr_disclosure
from bridge.domain.patients.models import Patient

S = NotificationStatus

# --- inbox ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    """A notification as its recipient reads it in the inbox."""

    id: int
    kind: str
    status: str
    created_at: datetime
    acknowledged_at: datetime | None
    patient_id: int | None
    patient_name: str | None
    patient_cpr_masked: str | None
    subject: str
    body: str
    link: str
    ref: dict[str, Any]
    # Only when asked for, and only for the patient's own municipality or GP practice.
    patient_cpr: str | None = None


# Built once, the organisation bound: built per request, the statement cost more CPU than the
# database took to answer it.
_INBOX = select(Notification).where(
    Notification.recipient_organisation_id == bindparam("organisation_id"),
    Notification.channel == Channel.INBOX,
)
_UNACKNOWLEDGED = _INBOX.where(Notification.status != S.ACKNOWLEDGED)
_INBOX_ORDER = [SortKey(Notification.id, "id", descending=True)]


def list_inbox(
    session: Session,
    p: Principal,
    *,
    cursor: str | None,
    limit: int,
    unacknowledged: bool = False,
    language: str = texts.DEFAULT_LANGUAGE,
    include_cpr: bool = False,
) -> Page[InboxItem]:
    """The caller's organisation's inbox, newest first (two queries per page).

    ``include_cpr`` adds the full CPR to the items about patients of the caller's own
    municipality or GP practice, each disclosure noted in the patient's access log.
    """
    page = paginate(
        session,
        _UNACKNOWLEDGED if unacknowledged else _INBOX,
        _INBOX_ORDER,
        cursor=cursor,
        limit=limit,
        params={"organisation_id": p.organisation_id},
    )
    items = _inbox_items(session, p, page.items, language, AuditAction.LIST, include_cpr)
    return Page(items=items, next_cursor=page.next_cursor)


def get_inbox_item(
    session: Session,
    p: Principal,
    notification_id: int,
    *,
    language: str,
    include_cpr: bool = False,
) -> InboxItem:
    """One message of the caller's organisation's inbox."""
    row = _inbox_row(session, p, notification_id)
    (item,) = _inbox_items(session, p, [row], language, AuditAction.READ, include_cpr)
    return item


def _inbox_row(session: Session, p: Principal, notification_id: int) -> Notification:
    n = session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.recipient_organisation_id == p.organisation_id,
            Notification.channel == Channel.INBOX,
        )
    )
    if n is None:
        raise NotFound("no such message in your inbox")
    return n


def _inbox_items(
    session: Session,
    p: Principal,
    rows: list[Notification],
    language: str,
    action: str,
    include_cpr: bool = False,
) -> list[InboxItem]:
    """Rows as inbox items, with their patients' names and masked CPR in one query."""
    patient_ids = {n.patient_id for n in rows if n.patient_id is not None}
    patients = _patient_names(session, patient_ids)
    full: dict[int, str] = {}
    if include_cpr and patient_ids:
        full = {
            pid: cpr
            for pid, cpr, municipality_id, gp_id in session.execute(
                select(
                    Patient.id, Patient.cpr, Patient.municipality_id, Patient.gp_practice_id
                ).where(Patient.id.in_(patient_ids))
            )
            if cpr_disclosure.entitled(p, municipality_id, gp_id)
        }
    disclosed: set[int] = set()
    items = []
    for n in rows:
        audit.record(session, p, action, "notification", n.id, n.patient_id)
        name, masked = patients.get(n.patient_id or 0, (None, None))
        cpr = full.get(n.patient_id or 0)
        if cpr is not None and n.patient_id is not None and n.patient_id not in disclosed:
            disclosed.add(n.patient_id)
            cpr_disclosure.disclose(session, p, n.patient_id, cpr)
        rendered = n.payload.get("text", {})
        text = rendered.get(language) or rendered.get(texts.DEFAULT_LANGUAGE, {})
        items.append(
            InboxItem(
                id=n.id,
                kind=n.kind,
                status=n.status.value,
                created_at=n.created_at,
                acknowledged_at=n.acknowledged_at,
                patient_id=n.patient_id,
                patient_name=name,
                patient_cpr_masked=masked,
                subject=text.get("subject", ""),
                body=text.get("body", ""),
                link=n.payload.get("link", ""),
                ref=n.payload.get("ref", {}),
                patient_cpr=cpr,
            )
        )
    return items


def acknowledge_inbox(
    session: Session, p: Principal, notification_id: int, now: datetime
) -> Notification:
    """The recipient has read the message; acknowledging twice keeps the first time."""
    n = _inbox_row(session, p, notification_id)
    audit.record(session, p, AuditAction.UPDATE, "notification", n.id, n.patient_id)
    if n.status != S.ACKNOWLEDGED:
        n.status, n.acknowledged_at = S.ACKNOWLEDGED, now
        session.flush()
        report_outcome(session, n, now)
    return n
