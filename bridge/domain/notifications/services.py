"""The outbox's use cases: enqueue in the caller's transaction, acknowledgements, inbox, endpoints.

Other areas call ``enqueue_notification`` after writing their event (same transaction, never a
commit), and learn of outcomes through ``register_ack_handler`` or ``distribution_status_for``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.domain import audit
from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.fhir_messages import Acknowledgement, parse_acknowledgement
from bridge.domain.identifiers import mask_cpr
from bridge.domain.notifications import texts
from bridge.domain.notifications.channels import RetryPolicy, generate_webhook_secret
from bridge.domain.notifications.destinations import DestinationPolicy, check_url
from bridge.domain.notifications.models import (
    HEALTH_DATA_CHANNELS,
    Channel,
    DeliveryEndpoint,
    Notification,
    NotificationStatus,
)
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.patients import cpr as cpr_disclosure
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Organisation, Role

S = NotificationStatus

# --- outcome handlers -------------------------------------------------------------------------

#: fn(session, source_id, status, at): called in the transaction that records the outcome;
#: answers True when the source took the acknowledgement (so every row of it is settled).
StatusHandler = Callable[[Session, int, NotificationStatus, datetime], bool | None]
_handlers: dict[str, StatusHandler] = {}
#: The statuses a handler hears about (not pending/sending, which are internal to the outbox).
REPORTED = frozenset({S.SENT, S.DELIVERED, S.ACKNOWLEDGED, S.FAILED, S.DEAD})


def register_ack_handler(source_type: str, fn: StatusHandler) -> None:
    """Have ``fn`` called whenever a notification about a ``source_type`` reaches an outcome.

    The composition (bridge/bootstrap.py) registers the meetings area's for ``"distribution"``,
    to move a Distribution forward. Called once per notification row, so a recipient with three
    channels may be reported three times; handlers must be idempotent.
    """
    _handlers[source_type] = fn


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
        if source_id not in best or _RANK[status] > _RANK[best[source_id]]:
            best[source_id] = status
    return best


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
    health = {
        **base,
        "text": {
            lang: vars(
                texts.render(
                    kind,
                    lang,
                    patient=label,
                    title=payload.get("title"),
                    action_items=[str(a) for a in payload.get("action_items") or []],
                    link=base["link"],
                )
            )
            for lang in texts.LANGUAGES
        },
    }
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
        for pid, name, cpr in session.execute(
            select(Patient.id, Patient.name, Patient.cpr).where(Patient.id.in_(patient_ids))
        )
    }


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
    return result.rowcount or 0


def _by_event(session: Session, key: str) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(Notification.event_key == key).order_by(Notification.id)
        )
    )


# --- acknowledgements -------------------------------------------------------------------------


def apply_acknowledgement(
    session: Session, n: Notification, ack: Acknowledgement, now: datetime, policy: RetryPolicy
) -> Notification:
    """Record a MedCom acknowledgement: ok, transient-error (retry), fatal-error (failed)."""
    if n.status in (S.ACKNOWLEDGED, S.FAILED, S.DEAD):
        return n  # a duplicate or late acknowledgement changes nothing
    n.lease_expires_at = None
    n.claim_token = None  # a delivery still in flight must not overwrite this outcome
    if ack.code == "ok":
        n.status, n.acknowledged_at = S.ACKNOWLEDGED, now
        n.next_attempt_at, n.last_error = None, None
    elif ack.code == "transient-error":
        # MedCom: the original and at most two resends, whatever made them necessary; a
        # receiver that keeps answering transient-error is failed (and flagged) like a silent one.
        if n.resends >= policy.max_resends:
            n.status, n.next_attempt_at = S.FAILED, None
            n.last_error = f"negative acknowledgement: transient-error after {n.resends + 1} sends"
        elif now - n.created_at >= policy.max_age:
            n.status, n.next_attempt_at = S.DEAD, None
            n.last_error = "negative acknowledgement: transient-error"
        else:
            n.resends += 1
            n.status, n.next_attempt_at = S.PENDING, now + policy.delay(max(n.attempts, 1))
            n.last_error = "negative acknowledgement: transient-error"
    else:
        n.status, n.next_attempt_at = S.FAILED, None
        n.last_error = f"negative acknowledgement: fatal-error: {ack.detail or 'no reason given'}"[
            :500
        ]
    session.flush()
    report_outcome(session, n, now)
    return n


def receive_acknowledgement(
    session: Session, p: Principal, bundle: Any, now: datetime, policy: RetryPolicy | None = None
) -> Notification:
    """A receiver's MedCom Acknowledgement of a message sent to the caller's organisation."""
    try:
        ack = parse_acknowledgement(bundle)
    except ValueError as exc:
        raise RuleViolation(str(exc)[:500], field="body") from None
    n = session.scalar(
        select(Notification).where(
            Notification.message_header_id == ack.acknowledged_message_header_id,
            Notification.recipient_organisation_id == p.organisation_id,
        )
    )
    if n is None:
        raise NotFound("no message with that MessageHeader id was sent to your organisation")
    audit.record(session, p, AuditAction.UPDATE, "notification", n.id, n.patient_id)
    return apply_acknowledgement(session, n, ack, now, policy or RetryPolicy())


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
    stmt = select(Notification).where(
        Notification.recipient_organisation_id == p.organisation_id,
        Notification.channel == Channel.INBOX,
    )
    if unacknowledged:
        stmt = stmt.where(Notification.status != S.ACKNOWLEDGED)
    page = paginate(
        session, stmt, [SortKey(Notification.id, "id", descending=True)], cursor=cursor, limit=limit
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
        if cpr is not None and n.patient_id not in disclosed:
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


# --- delivery endpoints -----------------------------------------------------------------------

DEFAULT_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class EndpointWithSecret:
    """An endpoint and, right after creation or rotation, its new secret (shown once)."""

    endpoint: DeliveryEndpoint
    secret: str | None


def create_endpoint(
    session: Session,
    p: Principal,
    organisation_id: int,
    data: dict[str, Any],
    destinations: DestinationPolicy,
) -> EndpointWithSecret:
    """Configure a FHIR, webhook or email endpoint for an organisation (admin)."""
    p.require(Role.ADMIN)
    if session.get(Organisation, organisation_id) is None:
        raise NotFound("no such organisation")
    channel = Channel(data["channel"])
    if channel == Channel.INBOX:
        raise RuleViolation("every organisation has the inbox already", field="channel")
    endpoint = DeliveryEndpoint(organisation_id=organisation_id, channel=channel, active=True)
    secret = None
    if channel == Channel.EMAIL:
        if not data.get("email") or data.get("url"):
            raise RuleViolation("an email endpoint needs email and no url", field="email")
        endpoint.email = data["email"]
    else:
        if data.get("email"):
            raise RuleViolation("only an email endpoint has an email address", field="email")
        endpoint.url = check_url(data.get("url"), destinations)
    if channel == Channel.WEBHOOK:
        secret = endpoint.secret = generate_webhook_secret()
    session.add(endpoint)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("the organisation already has an endpoint for this channel") from None
    return EndpointWithSecret(endpoint, secret)


def _endpoint(session: Session, organisation_id: int, endpoint_id: int) -> DeliveryEndpoint:
    endpoint = session.scalar(
        select(DeliveryEndpoint).where(
            DeliveryEndpoint.id == endpoint_id, DeliveryEndpoint.organisation_id == organisation_id
        )
    )
    if endpoint is None:
        raise NotFound("no such endpoint")
    return endpoint


def list_endpoints(session: Session, p: Principal, organisation_id: int) -> list[DeliveryEndpoint]:
    """An organisation's configured endpoints (admin); secrets are never listed."""
    p.require(Role.ADMIN)
    if session.get(Organisation, organisation_id) is None:
        raise NotFound("no such organisation")
    return list(
        session.scalars(
            select(DeliveryEndpoint)
            .where(DeliveryEndpoint.organisation_id == organisation_id)
            .order_by(DeliveryEndpoint.id)
        )
    )


def update_endpoint(
    session: Session,
    p: Principal,
    organisation_id: int,
    endpoint_id: int,
    data: dict[str, Any],
    destinations: DestinationPolicy,
) -> DeliveryEndpoint:
    """Change an endpoint's address or (re)activate it, e.g. after a receiver's 410 (admin)."""
    p.require(Role.ADMIN)
    endpoint = _endpoint(session, organisation_id, endpoint_id)
    if "url" in data:
        if endpoint.channel == Channel.EMAIL:
            raise RuleViolation("an email endpoint has no url", field="url")
        endpoint.url = check_url(data["url"], destinations)
    if "email" in data:
        if endpoint.channel != Channel.EMAIL or not data["email"]:
            raise RuleViolation("only an email endpoint has an email address", field="email")
        endpoint.email = data["email"]
    if "active" in data:
        endpoint.active = data["active"]
        if endpoint.active:
            endpoint.disabled_reason = None
        else:
            endpoint.disabled_reason = "disabled by an administrator"
    session.flush()
    return endpoint


def rotate_webhook_secret(
    session: Session,
    p: Principal,
    organisation_id: int,
    endpoint_id: int,
    now: datetime,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> EndpointWithSecret:
    """A new webhook secret; the old one keeps signing too until the overlap ends (admin)."""
    p.require(Role.ADMIN)
    endpoint = _endpoint(session, organisation_id, endpoint_id)
    if endpoint.channel != Channel.WEBHOOK:
        raise Conflict("only a webhook endpoint has a secret to rotate")
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_valid_until = now + overlap
    endpoint.secret = generate_webhook_secret()
    session.flush()
    return EndpointWithSecret(endpoint, endpoint.secret)
