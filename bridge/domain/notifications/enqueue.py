"""The outbox's entry: enqueue notifications in the caller's transaction (never a commit), and
settle a source acknowledged outside the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.domain.base import affected_rows, utcnow
from bridge.domain.errors import RuleViolation
from bridge.domain.identifiers import mask_cpr
from bridge.domain.notifications import texts
from bridge.domain.notifications.models import (
    HEALTH_DATA_CHANNELS,
    Channel,
    DeliveryEndpoint,
    Notification,
    NotificationStatus,
)
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Organisation

S = NotificationStatus


# --- enqueue ----------------------------------------------------------------------------------


def enqueue_notification(
    session: Session,
    *,
    recipient_organisation_id: int,
    kind: str,
    patient_id: int | None,
    payload: dict[str, Any],
    source_type: str | None,
    source_id: int | None,
    idempotency_key: str,
) -> list[Notification]:
    """Write one notification per channel of the recipient (the inbox always); flush, no commit.

    ``payload`` holds ``ref`` (ids of what the message is about, e.g. ``{"type":
    "minutes_version", "id": 12, "patient_id": 3}``), ``link`` (path of the resource in the API),
    and optionally ``title``, ``action_items`` (list of str: tasks that fall to the recipient)
    and ``author_name``. A second call with the same ``idempotency_key`` creates nothing and
    returns the rows of the first.
    """
    event = NotificationEvent(
        recipient_organisation_id=recipient_organisation_id,
        kind=kind,
        patient_id=patient_id,
        payload=payload,
        source_type=source_type,
        source_id=source_id,
        idempotency_key=idempotency_key,
    )
    _check_event(event)
    existing = _by_event(session, idempotency_key)
    if existing:
        return existing
    if session.get(Organisation, recipient_organisation_id) is None:
        raise RuleViolation("no such organisation", field="recipient_organisation_id")
    patients = _patient_names(session, {patient_id} if patient_id is not None else set())
    if patient_id is not None and patient_id not in patients:
        raise RuleViolation("no such patient", field="patient_id")
    endpoints = _active_endpoints(session, {recipient_organisation_id})
    try:
        # A savepoint, so that losing a race with a concurrent enqueue of the same key leaves
        # the caller's transaction usable.
        with session.begin_nested():
            return _write(session, [event], patients, endpoints)
    except IntegrityError:
        return _by_event(session, idempotency_key)


def _bodies(
    kind: str, label: str | None, payload: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The thin body (any channel) and the health-data body with the rendered texts."""
    base = {
        "ref": dict(payload.get("ref") or {}),
        "link": str(payload.get("link") or ""),
        "author_name": str(payload.get("author_name") or texts.DEFAULT_AUTHOR),
        # The person who signs a MedCom message: her name and phone are read when it is sent.
        "author_staff_id": payload.get("author_staff_id"),
    }
    # A person's own words (a reply, a forward) travel as she wrote them.
    message = payload.get("message")
    rendered_texts: dict[str, dict[str, Any]] = {}
    for lang in texts.LANGUAGES:
        rendered = texts.render(
            kind,
            lang,
            patient=label,
            title=payload.get("title"),
            action_items=[str(a) for a in payload.get("action_items") or []],
            link=str(base["link"]),
        )
        body = rendered.body if message is None else str(message)
        rendered_texts[lang] = {"subject": rendered.subject, "body": body}
    health: dict[str, Any] = {**base, "text": rendered_texts}
    if payload.get("thread"):
        # The conversation a reply or forward carries on (the received message, as received).
        health["thread"] = payload["thread"]
    return base, health


@dataclass(frozen=True)
class NotificationEvent:
    """One event for ``enqueue_many``: the arguments of ``enqueue_notification`` as data."""

    recipient_organisation_id: int
    kind: str
    patient_id: int | None
    payload: dict[str, Any]
    source_type: str | None
    source_id: int | None
    idempotency_key: str


def _check_event(e: NotificationEvent) -> None:
    if not e.idempotency_key or len(e.idempotency_key) > 200:
        raise ValueError("idempotency_key must be 1 to 200 characters")
    if not e.kind or len(e.kind) > 40:
        raise ValueError("kind must be 1 to 40 characters")


def enqueue_many(session: Session, events: Iterable[NotificationEvent]) -> list[Notification]:
    """``enqueue_notification`` for a batch, in a number of statements independent of its size.

    Events whose key was enqueued before are skipped (as are repeats within the batch); returns
    the rows written now. Unknown recipients or patients are a ValueError (callers pass ids they
    read from the database). Losing a race with a concurrent enqueue of the same key falls back
    to one savepoint per event, which stays correct, only slower.
    """
    wanted: dict[str, NotificationEvent] = {}
    for e in events:
        _check_event(e)
        wanted.setdefault(e.idempotency_key, e)
    if not wanted:
        return []
    known = set(
        session.scalars(select(Notification.event_key).where(Notification.event_key.in_(wanted)))
    )
    todo = [e for key, e in wanted.items() if key not in known]
    if not todo:
        return []
    patient_ids = {e.patient_id for e in todo if e.patient_id is not None}
    patients = _patient_names(session, patient_ids)
    if patient_ids - patients.keys():
        raise ValueError(f"no such patient(s): {sorted(patient_ids - patients.keys())}")
    endpoints = _active_endpoints(session, {e.recipient_organisation_id for e in todo})
    try:
        with session.begin_nested():
            return _write(session, todo, patients, endpoints)
    except IntegrityError:
        rows: list[Notification] = []
        for e in todo:
            rows += enqueue_notification(session, **vars(e))
        return rows


def _patient_names(session: Session, patient_ids: set[int]) -> dict[int, tuple[str, str]]:
    """Name and masked CPR per patient id, in one query (none for no ids)."""
    if not patient_ids:
        return {}
    return {
        pid: (name, mask_cpr(cpr))
        for pid, name, cpr in session.execute(_NAMES, {"patient_ids": list(patient_ids)})
    }


# Built once (an inbox page asks on every request).
_NAMES = select(Patient.id, Patient.name, Patient.cpr).where(
    Patient.id.in_(bindparam("patient_ids", expanding=True))
)


def _active_endpoints(session: Session, org_ids: set[int]) -> dict[int, list[DeliveryEndpoint]]:
    """Each organisation's active endpoints in id order, in one query."""
    endpoints: dict[int, list[DeliveryEndpoint]] = {org_id: [] for org_id in org_ids}
    for endpoint in session.scalars(
        select(DeliveryEndpoint)
        .where(DeliveryEndpoint.organisation_id.in_(org_ids), DeliveryEndpoint.active.is_(True))
        .order_by(DeliveryEndpoint.id)
    ):
        endpoints[endpoint.organisation_id].append(endpoint)
    return endpoints


def _write(
    session: Session,
    events: list[NotificationEvent],
    patients: dict[int, tuple[str, str]],
    endpoints: dict[int, list[DeliveryEndpoint]],
) -> list[Notification]:
    """Insert each event's inbox row, then one row per active endpoint pointing at it."""
    now = utcnow()
    inboxes: list[Notification] = []
    others: list[tuple[Notification, Notification]] = []  # (row, its inbox row)
    for e in events:
        patient = patients.get(e.patient_id) if e.patient_id is not None else None
        base, health = _bodies(
            e.kind, texts.patient_label(*patient) if patient else None, e.payload
        )
        common = {
            "recipient_organisation_id": e.recipient_organisation_id,
            "patient_id": e.patient_id,
            "kind": e.kind,
            "event_key": e.idempotency_key,
            "source_type": e.source_type,
            "source_id": e.source_id,
            "created_at": now,
        }
        # The inbox is delivered the moment the event commits: it is read, not sent.
        inbox = Notification(
            **common,
            channel=Channel.INBOX,
            payload=health,
            idempotency_key=f"{e.idempotency_key}:{Channel.INBOX.value}",
            status=S.DELIVERED,
            sent_at=now,
        )
        inboxes.append(inbox)
        for endpoint in endpoints[e.recipient_organisation_id]:
            body = health if endpoint.channel in HEALTH_DATA_CHANNELS else base
            row = Notification(
                **common,
                channel=endpoint.channel,
                endpoint_id=endpoint.id,
                payload=body,
                idempotency_key=f"{e.idempotency_key}:{endpoint.channel.value}",
                status=S.PENDING,
                next_attempt_at=now,
                message_header_id=str(uuid.uuid4()) if endpoint.channel == Channel.FHIR else None,
            )
            others.append((row, inbox))
    # The unit of work batches these INSERTs (executemany with RETURNING on PostgreSQL).
    session.add_all(inboxes)
    session.flush()
    for row, inbox in others:
        row.payload = {**row.payload, "inbox_id": inbox.id}
    session.add_all([row for row, _ in others])
    session.flush()
    return inboxes + [row for row, _ in others]


def acknowledge_source(session: Session, source_type: str, source_id: int, now: datetime) -> int:
    """Settle every open row about a source the recipient acknowledged some other way.

    E.g. a GP acknowledging the minutes' distribution directly, or in the inbox: its FHIR row
    must not be resent for lack of a MedCom acknowledgement, and the inbox shows it read.
    Handlers are not called again (the caller has recorded the acknowledgement). One UPDATE.
    """
    result = session.execute(
        update(Notification)
        .where(
            Notification.source_type == source_type,
            Notification.source_id == source_id,
            Notification.status.in_([S.PENDING, S.SENDING, S.SENT, S.DELIVERED]),
        )
        .values(
            status=S.ACKNOWLEDGED,
            acknowledged_at=now,
            next_attempt_at=None,
            lease_expires_at=None,
            # A delivery in flight finds its claim gone and drops its outcome (see _record).
            claim_token=None,
        )
        .execution_options(synchronize_session="fetch")
    )
    return affected_rows(result)


def _by_event(session: Session, key: str) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(Notification.event_key == key).order_by(Notification.id)
        )
    )
