"""How other areas learn of a notification's outcome: registered handlers, and the best status per
source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.notifications.enqueue import acknowledge_source
from bridge.domain.notifications.models import (
    Notification,
    NotificationStatus,
)

S = NotificationStatus


# --- outcome handlers -------------------------------------------------------------------------

#: fn(session, source_id, status, at): called in the transaction that records the outcome;
#: answers True when the source took the acknowledgement (so every row of it is settled).
StatusHandler = Callable[[Session, int, NotificationStatus, datetime], bool | None]
_handlers: dict[str, StatusHandler] = {}
#: fn(session, source_ids, status, at): the same for many sources in a few statements; used for
#: a dispatcher batch's plain deliveries (never for acknowledgements, whose answer matters).
BatchStatusHandler = Callable[[Session, list[int], NotificationStatus, datetime], None]
_batch_handlers: dict[str, BatchStatusHandler] = {}
#: The statuses a handler hears about (not pending/sending, which are internal to the outbox).
REPORTED = frozenset({S.SENT, S.DELIVERED, S.ACKNOWLEDGED, S.FAILED, S.DEAD})


def register_ack_handler(
    source_type: str, fn: StatusHandler, many: BatchStatusHandler | None = None
) -> None:
    """Have ``fn`` called whenever a notification about a ``source_type`` reaches an outcome.

    The composition (bridge/bootstrap.py) registers the meetings area's for ``"distribution"``,
    to move a Distribution forward. Called once per notification row, so a recipient with three
    channels may be reported three times; handlers must be idempotent.
    """
    _handlers[source_type] = fn
    if many is not None:
        _batch_handlers[source_type] = many


def report_outcome(session: Session, n: Notification, at: datetime) -> None:
    """Tell the source's handler about ``n``'s new status (no-op without one)."""
    report_status(session, n.source_type, n.source_id, n.status, at)


def report_status(
    session: Session,
    source_type: str | None,
    source_id: int | None,
    status: NotificationStatus,
    at: datetime,
) -> None:
    """``report_outcome`` for a row not loaded as an object (the dispatcher's set-based path)."""
    handler = _handlers.get(source_type or "")
    if handler is None or source_type is None or source_id is None or status not in REPORTED:
        return
    settled = handler(session, source_id, status, at)
    if settled and status == S.ACKNOWLEDGED:
        # The source is acknowledged as a whole: no other channel's row is resent for lack of
        # its own receipt. The outbox settles its rows itself; the handler never calls back.
        acknowledge_source(session, source_type, source_id, at)


def report_statuses(
    session: Session,
    sources: Iterable[tuple[str | None, int | None]],
    status: NotificationStatus,
    at: datetime,
) -> None:
    """``report_status`` for many rows that reached the same status: one call of a source
    type's batch handler where it has one, so a batch costs statements per type, not per row."""
    by_type: dict[str, list[int]] = {}
    for source_type, source_id in sources:
        if source_type is not None and source_id is not None:
            by_type.setdefault(source_type, []).append(source_id)
    for source_type, ids in by_type.items():
        many = _batch_handlers.get(source_type)
        if many is not None and status != S.ACKNOWLEDGED and status in REPORTED:
            many(session, ids, status, at)
            continue
        for source_id in ids:
            report_status(session, source_type, source_id, status, at)


# The best status a source has reached over all its rows: acknowledged beats delivered, etc.
_RANK = {
    S.DEAD: 0,
    S.FAILED: 1,
    S.PENDING: 2,
    S.SENDING: 3,
    S.SENT: 4,
    S.DELIVERED: 5,
    S.ACKNOWLEDGED: 6,
}


def distribution_status_for(
    session: Session, source_type: str, source_ids: Iterable[int]
) -> dict[int, NotificationStatus]:
    """The best status per source id over all channels, in one query (missing ids: nothing)."""
    ids = list(source_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Notification.source_id, Notification.status).where(
            Notification.source_type == source_type, Notification.source_id.in_(ids)
        )
    )
    best: dict[int, NotificationStatus] = {}
    for source_id, status in rows:
        if source_id is None:
            continue
        if source_id not in best or _RANK[status] > _RANK[best[source_id]]:
            best[source_id] = status
    return best
