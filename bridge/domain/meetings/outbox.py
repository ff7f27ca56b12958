"""Final minutes to the GP and other treating recipients, through the notifications outbox.

Called by ``finalise_minutes`` in its own transaction, so a distribution row and the
notification that delivers it commit together or not at all. The outcome flows back through the
ack handler registered in ``services`` (source type ``distribution``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.domain.calendar import COPENHAGEN, day_text
from bridge.domain.meetings.distribution import CLOSED_REASON
from bridge.domain.meetings.models import (
    ActionItem,
    ActionItemStatus,
    Channel,
    Distribution,
    DistributionStatus,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.notifications import NotificationEvent, enqueue_many
from bridge.domain.notifications.models import Notification, NotificationStatus
from bridge.domain.registry.effective import copenhagen_today
from bridge.domain.registry.models import Organisation

SOURCE_TYPE = "distribution"
MINUTES_FINAL = "minutes_final"
MINUTES_AMENDED = "minutes_amended"
# The inbox and FHIR texts carry the minutes themselves, bounded so a long text stays a message.
EXCERPT_MAX = 1500


def deliverable(distribution: Distribution) -> bool:
    """Whether the outbox delivers this row: MedCom recipients that consent or law allows."""
    return (
        distribution.channel == Channel.MEDCOM
        and distribution.status != DistributionStatus.BLOCKED
        and distribution.recipient_organisation_id is not None
    )


def idempotency_key(distribution_id: int) -> str:
    """One notification event per distribution row, however often finalising is retried."""
    return f"{SOURCE_TYPE}:{distribution_id}"


def _excerpt(label: str, text: str) -> str:
    text = text.strip()
    if len(text) > EXCERPT_MAX:
        text = text[: EXCERPT_MAX - 1].rstrip() + "…"
    return f"{label}: {text}" if text else ""


def notify_distributions(
    session: Session,
    meeting: NetworkMeeting,
    version: MinutesVersion,
    distributions: list[Distribution],
) -> list[Notification]:
    """Enqueue one notification per deliverable distribution (flushed rows; no commit)."""
    rows = [d for d in distributions if deliverable(d)]
    if not rows:
        return []
    items = session.scalars(
        select(ActionItem)
        .where(
            ActionItem.minutes_version_id == version.id,
            ActionItem.status == ActionItemStatus.OPEN,
        )
        .order_by(ActionItem.id)
    ).all()
    kind = MINUTES_FINAL if version.version_no == 1 else MINUTES_AMENDED
    held = meeting.held_at or meeting.scheduled_start
    when = f" {held.astimezone(COPENHAGEN):%d.%m.%Y}" if held else ""
    title_lines = [f"Netværksmøde{when}, referat version {version.version_no}"]
    if version.amendment_reason:
        title_lines.append(_excerpt("Rettelse", version.amendment_reason))
    title_lines.append(_excerpt("Resumé", version.summary))
    title_lines.append(_excerpt("Beslutninger", version.decisions))
    title = "\n".join(line for line in title_lines if line)
    link = f"/api/v1/meetings/{meeting.id}/minutes/{version.version_no}"
    events = []
    for d in rows:
        recipient = d.recipient_organisation_id
        if recipient is None:  # deliverable() keeps organisations only
            continue
        mine = [i for i in items if i.responsible_organisation_id == recipient]
        events.append(
            NotificationEvent(
                recipient_organisation_id=recipient,
                kind=kind,
                patient_id=meeting.patient_id,
                payload={
                    "ref": {
                        "type": "minutes_version",
                        "id": version.id,
                        "meeting_id": meeting.id,
                        "version_no": version.version_no,
                        "distribution_id": d.id,
                        "patient_id": meeting.patient_id,
                        # The recipient's own items, to close with PATCH /action-items/{id}.
                        "action_item_ids": [i.id for i in mine],
                    },
                    "link": link,
                    "title": title,
                    "author_staff_id": version.finalised_by_id,
                    "action_items": [
                        f"{i.description} (frist {day_text(i.due_date)})"
                        if i.due_date
                        else i.description
                        for i in mine
                    ],
                },
                source_type=SOURCE_TYPE,
                source_id=d.id,
                idempotency_key=idempotency_key(d.id),
            )
        )
    return enqueue_many(session, events)


def block_distributions_to_closed_recipients(session: Session, now: datetime) -> int:
    """Block the undelivered rows of recipients that have closed since the minutes were
    finalised, and stop their messages, rather than let them wait forever. Set-based: two
    statements however many rows; returns how many rows were blocked."""
    closed = select(Organisation.id).where(Organisation.valid_to < copenhagen_today(now))
    blocked = (
        session.execute(
            update(Distribution)
            .where(
                Distribution.status == DistributionStatus.PENDING,
                Distribution.recipient_organisation_id.in_(closed),
            )
            .values(
                status=DistributionStatus.BLOCKED,
                blocked_reason=CLOSED_REASON,
                legal_basis=None,
            )
            .returning(Distribution.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    if blocked:
        session.execute(
            update(Notification)
            .where(
                Notification.source_type == SOURCE_TYPE,
                Notification.source_id.in_(blocked),
                Notification.status == NotificationStatus.PENDING,
            )
            .values(status=NotificationStatus.FAILED, last_error=CLOSED_REASON)
            .execution_options(synchronize_session=False)
        )
    return len(blocked)
