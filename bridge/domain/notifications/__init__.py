"""Notifications to GPs and other recipients: a transactional outbox with real delivery.

The interface for other areas (call it inside your own transaction, after flushing your event):

- ``enqueue_notification(session, *, recipient_organisation_id, kind, patient_id, payload,
  source_type, source_id, idempotency_key) -> list[Notification]``
- ``register_ack_handler(source_type, fn)`` with ``fn(session, source_id, status, at) -> bool``
  (True: the source took an acknowledgement, so every row of it is settled)
- ``distribution_status_for(session, source_type, source_ids) -> {source_id: status}``
- ``enqueue_many(session, [NotificationEvent(...)])``: the same for a batch, in constant statements
- ``acknowledge_source(session, source_type, source_id, now)``: settle a source acknowledged
  outside the outbox (no resends)
"""

from bridge.domain.notifications.enqueue import (
    NotificationEvent,
    acknowledge_source,
    enqueue_many,
    enqueue_notification,
)
from bridge.domain.notifications.outcomes import distribution_status_for, register_ack_handler

__all__ = [
    "NotificationEvent",
    "acknowledge_source",
    "distribution_status_for",
    "enqueue_many",
    "enqueue_notification",
    "register_ack_handler",
]
