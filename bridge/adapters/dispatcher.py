"""The dispatcher: claim due notifications, deliver them outside any transaction, record outcomes.

Safe to run in several processes at once: rows are claimed with ``FOR UPDATE SKIP LOCKED`` and a
lease. A dispatcher that dies leaves its claimed rows ``sending``; once the lease expires another
dispatcher claims them again, so nothing is lost (a message in flight at the moment of death may
be delivered twice, which receivers dedupe on ``webhook-id`` / MessageHeader id).
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from bridge.adapters.fhir_messages import Acknowledgement, Attachment, OrganisationRef, PatientRef
from bridge.adapters.fhir_messages import parse_acknowledgement as parse_ack
from bridge.adapters.transport import HttpResponse, Transport, TransportError
from bridge.domain.notifications import channels, texts
from bridge.domain.notifications.acknowledgements import apply_acknowledgement
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.destinations import DestinationPolicy
from bridge.domain.notifications.models import (
    Channel,
    DeliveryEndpoint,
    Notification,
    NotificationStatus,
)
from bridge.domain.notifications.outcomes import report_outcome, report_status
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Organisation, Staff

log = logging.getLogger("bridge.notifications")
S = NotificationStatus
RETRY = "retry"  # an outcome that is not a status: try again later


@dataclass(frozen=True)
class DispatchSettings:
    """What the dispatcher needs from configuration."""

    base_url: str = "http://localhost:5000"
    sender: OrganisationRef | None = None  # who FHIR messages come from (SOR code and GLN)
    mail_from: str = "bridge@localhost"
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    lease: timedelta = timedelta(minutes=5)
    workers: int = 8  # messages on the wire at once (one HTTP connection each, kept alive)
    # Hosts beyond the public internet that receivers may live on (BRIDGE_ENDPOINT_ALLOWED_HOSTS).
    destinations: DestinationPolicy = field(default_factory=DestinationPolicy)
    # MedCom's authorContact when neither the author nor her organisation has a phone.
    sender_phone: str | None = None
    # Documents to attach, per notification id, for a batch of FHIR rows (the minutes PDF).
    # Injected, because rendering a document is an adapter's work, not the domain's.
    attachments: Callable[[Session, list[Notification]], dict[int, list[Attachment]]] | None = None

    def absolute(self, link: str) -> str:
        if link.startswith(("http://", "https://")):
            return link
        return self.base_url.rstrip("/") + "/" + link.lstrip("/")


@dataclass
class DispatchSummary:
    claimed: int = 0
    delivered: int = 0
    sent: int = 0
    acknowledged: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    stale: int = 0  # outcomes dropped because the row was acknowledged or re-claimed meanwhile
    skipped: int = 0  # claimed but left for re-claim: the lease ran short

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class _Job:
    """One claimed delivery, as plain data so it can be sent with no transaction open."""

    id: int
    token: str
    channel: Channel
    endpoint_id: int | None
    message_header_id: str | None = None
    url: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    email: EmailMessage | None = None
    error: str | None = None  # the message could not be built: fail without sending


@dataclass(frozen=True)
class _Outcome:
    status: str  # a NotificationStatus value or RETRY
    error: str | None = None
    retry_after: timedelta | None = None
    ack: Acknowledgement | None = None
    disable_endpoint: str | None = None


def dispatch_once(
    session: Session,
    now: datetime,
    *,
    batch_size: int = 100,
    settings: DispatchSettings | None = None,
    transport: Transport | None = None,
) -> DispatchSummary:
    """Claim up to ``batch_size`` due notifications, deliver them, record the outcomes.

    ``session`` must be the dispatcher's own: it is committed after the claim and after each
    group of outcomes, and no transaction is open while a message is on the wire. Messages go
    out ``settings.workers`` at a time; whatever has come back is recorded (one transaction)
    while the rest are still being sent, so a crash re-sends only what was in flight or not yet
    recorded.
    """
    settings = settings or DispatchSettings()
    own_transport = transport is None
    transport = transport or Transport(
        http_connections=settings.workers, destinations=settings.destinations
    )
    summary = DispatchSummary()
    try:
        jobs = _claim(session, now, batch_size, settings)
        session.commit()
        summary.claimed = len(jobs)
        if jobs:
            _send_and_record(session, jobs, transport, now, settings, summary)
    finally:
        if own_transport:
            transport.close()
    return summary


def _send_and_record(
    session: Session,
    jobs: list[_Job],
    transport: Transport,
    now: datetime,
    settings: DispatchSettings,
    summary: DispatchSummary,
) -> None:
    # Stop before the lease runs out, so that another dispatcher never re-claims a row this
    # one is still about to send.
    deadline = time.monotonic() + settings.lease.total_seconds() * 0.8

    def send(job: _Job) -> _Outcome | None:
        if time.monotonic() > deadline:
            return None
        return _deliver(job, transport, now)

    pool = ThreadPoolExecutor(max_workers=max(1, min(settings.workers, len(jobs))))
    try:
        pending = {pool.submit(send, job): job for job in jobs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            results, crash = [], None
            for future in done:
                job = pending.pop(future)
                exc = future.exception()
                if exc is not None:
                    # Not an Exception (_deliver handles those): the process is going down.
                    crash = crash or exc
                    continue
                outcome = future.result()
                if outcome is None:
                    summary.skipped += 1
                else:
                    results.append((job, outcome))
            if crash is not None:
                # Going down (an interrupt, a simulated crash): send nothing more, but record
                # what is already on the wire, so that only an outright kill re-sends it.
                for future in [f for f in pending if f.cancel()]:
                    del pending[future]
                for future in wait(pending).done:
                    job = pending.pop(future)
                    if future.exception() is None and (outcome := future.result()) is not None:
                        results.append((job, outcome))
            if results:
                _record_many(session, results, now, settings.policy, summary)
                session.commit()
            if crash is not None:
                raise crash
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- claiming ---------------------------------------------------------------------------------


def _due(now: datetime):
    return or_(
        and_(Notification.status == S.PENDING, Notification.next_attempt_at <= now),
        and_(Notification.status == S.SENDING, Notification.lease_expires_at <= now),
        # MedCom reliable messaging: no acknowledgement in time, so the message goes again.
        and_(
            Notification.status == S.SENT,
            Notification.channel == Channel.FHIR,
            Notification.next_attempt_at <= now,
        ),
    )


def _claim(
    session: Session, now: datetime, batch_size: int, settings: DispatchSettings
) -> list[_Job]:
    rows = list(
        session.scalars(
            select(Notification)
            .where(_due(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return []
    for n in rows:
        if n.status == S.SENT:
            n.resends += 1
        n.status = S.SENDING
        n.claim_token = str(uuid.uuid4())
        n.lease_expires_at = now + settings.lease
        n.attempts += 1
        if n.channel == Channel.FHIR:
            n.bundle_id = str(uuid.uuid4())  # every send is a new envelope
    session.flush()
    # What the messages need, in three queries for the whole batch.
    endpoints = {
        e.id: e
        for e in session.scalars(
            select(DeliveryEndpoint).where(
                DeliveryEndpoint.id.in_({n.endpoint_id for n in rows if n.endpoint_id})
            )
        )
    }
    fhir = [n for n in rows if n.channel == Channel.FHIR]
    orgs = (
        {
            o.id: o
            for o in session.scalars(
                select(Organisation).where(
                    Organisation.id.in_({n.recipient_organisation_id for n in fhir})
                )
            )
        }
        if fhir
        else {}
    )
    patients = (
        {
            p.id: p
            for p in session.scalars(
                select(Patient).where(Patient.id.in_({n.patient_id for n in fhir if n.patient_id}))
            )
        }
        if fhir
        else {}
    )
    authors = _authors(session, fhir)
    attachments = settings.attachments(session, fhir) if fhir and settings.attachments else {}
    return [
        _build(
            n,
            endpoints.get(n.endpoint_id),
            orgs,
            patients,
            now,
            settings,
            authors.get(n.payload.get("author_staff_id") or 0),
            tuple(attachments.get(n.id, ())),
        )
        for n in rows
    ]


@dataclass(frozen=True)
class _Author:
    name: str
    phone: str | None


def _authors(session: Session, rows: list[Notification]) -> dict[int, _Author]:
    """The staff members who sign these messages, with a phone: hers, else her organisation's."""
    ids = {n.payload.get("author_staff_id") for n in rows} - {None}
    if not ids:
        return {}
    return {
        staff_id: _Author(name, (phone or org_phone or "").strip() or None)
        for staff_id, name, phone, org_phone in session.execute(
            select(Staff.id, Staff.name, Staff.phone, Organisation.phone)
            .join(Organisation, Organisation.id == Staff.organisation_id)
            .where(Staff.id.in_(ids))
        )
    }


def _build(
    n: Notification,
    endpoint: DeliveryEndpoint | None,
    orgs: dict[int, Organisation],
    patients: dict[int, Patient],
    now: datetime,
    settings: DispatchSettings,
    author: _Author | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> _Job:
    job = {"id": n.id, "token": n.claim_token, "channel": n.channel, "endpoint_id": n.endpoint_id}
    if endpoint is None or not endpoint.active:
        reason = endpoint.disabled_reason if endpoint else None
        return _Job(**job, error=f"endpoint disabled: {reason or 'no endpoint'}"[:500])
    payload: dict[str, Any] = n.payload
    link = settings.absolute(payload.get("link") or f"/api/v1/inbox/{payload.get('inbox_id')}")
    if n.channel == Channel.WEBHOOK:
        # The receiver acts on its inbox item (the webhook row itself is not addressable).
        inbox_id = payload.get("inbox_id") or n.id
        body = channels.webhook_body(
            notification_id=inbox_id,
            kind=n.kind,
            ref=payload.get("ref", {}),
            link=link,
            now=now,
            inbox_url=settings.absolute(f"/api/v1/inbox/{inbox_id}"),
        )
        headers = channels.webhook_headers(n.idempotency_key, endpoint.secrets_at(now), body, now)
        return _Job(**job, url=endpoint.url, body=body, headers=headers)
    if n.channel == Channel.EMAIL:
        # A person reads an email: the link opens the message in the web recipient area (after
        # login), not the API, which wants a token.
        inbox_link = settings.absolute(f"/inbox/{payload.get('inbox_id')}")
        da = texts.render_notice(n.kind, "da", link=inbox_link)
        en = texts.render_notice(n.kind, "en", link=inbox_link)
        msg = channels.email_message(
            sender=settings.mail_from,
            recipient=str(endpoint.email),
            subject=f"{da.subject} / {en.subject}",
            body=f"{da.body}\n\n---\n\n{en.body}\n",
            now=now,
            msg_id=n.idempotency_key,
        )
        return _Job(**job, email=msg)
    # FHIR: a health-data channel, with the full CPR in the Patient resource as MedCom requires.
    patient = patients.get(n.patient_id) if n.patient_id else None
    receiver = orgs.get(n.recipient_organisation_id)
    if patient is None or receiver is None:
        return _Job(**job, error="a FHIR message needs a patient and a recipient")
    if settings.sender is None:
        return _Job(**job, error="no MedCom sender organisation is configured")
    text = payload.get("text", {}).get("da", {})
    try:
        body = channels.fhir_bundle(
            message_header_id=str(n.message_header_id),
            bundle_id=str(n.bundle_id),
            kind=n.kind,
            subject=text.get("subject", ""),
            body=text.get("body", ""),
            sender=settings.sender,
            receiver=OrganisationRef(receiver.name, receiver.sor_code, receiver.gln),
            patient=PatientRef(cpr=patient.cpr, name=patient.name),
            created_at=n.created_at,
            now=now,
            author_name=author.name
            if author
            else payload.get("author_name") or texts.DEFAULT_AUTHOR,
            author_phone=(author.phone if author else None) or settings.sender_phone,
            link=link,
            attachments=attachments,
        )
    except ValueError as exc:
        # The builder's messages name fields and organisations, never the patient's data.
        return _Job(**job, error=f"cannot build the FHIR message: {exc}"[:500])
    headers = {"content-type": channels.FHIR_CONTENT_TYPE, "accept": channels.FHIR_CONTENT_TYPE}
    return _Job(
        **job, message_header_id=n.message_header_id, url=endpoint.url, body=body, headers=headers
    )


# --- delivering -------------------------------------------------------------------------------


def _deliver(job: _Job, transport: Transport, now: datetime) -> _Outcome:
    if job.error:
        return _Outcome(S.FAILED, error=job.error)
    try:
        if job.channel == Channel.EMAIL:
            assert job.email is not None
            transport.send_email(job.email)
            return _Outcome(S.DELIVERED)
        assert job.url is not None
        return _http_outcome(job, transport.post(job.url, job.body, job.headers), now)
    except TransportError as exc:
        return _Outcome(RETRY, error=f"transport: {exc}"[:500])
    except smtplib.SMTPRecipientsRefused:
        return _Outcome(S.FAILED, error="SMTP: recipient refused")
    except smtplib.SMTPResponseException as exc:
        code = exc.smtp_code
        return _Outcome(S.FAILED if code >= 500 else RETRY, error=f"SMTP {code}")
    except Exception as exc:  # a bug must not stop the batch; the row retries
        log.exception("delivery of notification %s failed", job.id)
        return _Outcome(RETRY, error=f"internal: {type(exc).__name__}")


def _http_outcome(job: _Job, r: HttpResponse, now: datetime) -> _Outcome:
    if 200 <= r.status < 300:
        if job.channel == Channel.WEBHOOK:
            return _Outcome(S.DELIVERED)
        return _Outcome(S.SENT, ack=_ack_in_body(r.body, job.message_header_id))
    if r.status == 410:
        return _Outcome(
            S.FAILED, error="HTTP 410", disable_endpoint="the receiver answered 410 Gone"
        )
    retry_after = None
    if r.status in (429, 503):
        retry_after = channels.parse_retry_after(r.headers.get("retry-after"), now)
    return _Outcome(RETRY, error=f"HTTP {r.status}", retry_after=retry_after)


def _ack_in_body(body: bytes, header_id: str | None) -> Acknowledgement | None:
    """A receiver may answer the POST with its Acknowledgement; anything else is ignored."""
    if not body:
        return None
    try:
        ack = parse_ack(json.loads(body))
    except ValueError:
        return None
    return ack if ack.acknowledged_message_header_id == header_id else None


# --- recording --------------------------------------------------------------------------------


def _record_many(
    session: Session,
    results: list[tuple[_Job, _Outcome]],
    now: datetime,
    policy: RetryPolicy,
    summary: DispatchSummary,
) -> None:
    """Record a group of outcomes in the caller's transaction, each guarded by its claim token.

    A row whose token no longer matches (acknowledged or re-claimed meanwhile) keeps its state.
    Plain deliveries, nearly all of them, are one UPDATE; the rest go row by row.
    """
    # Lock the rows this dispatcher still holds, in id order so that two transactions never
    # wait on each other's rows in opposite orders.
    held = {
        row.id: row
        for row in session.execute(
            select(Notification.id, Notification.source_type, Notification.source_id)
            .where(
                tuple_(Notification.id, Notification.claim_token).in_(
                    [(job.id, job.token) for job, _ in results]
                ),
                Notification.status == S.SENDING,
            )
            .order_by(Notification.id)
            .with_for_update()
        )
    }
    summary.stale += len(results) - len(held)
    plain = [
        job.id
        for job, outcome in results
        if job.id in held
        and outcome.status == S.DELIVERED
        and outcome.ack is None
        and outcome.disable_endpoint is None
    ]
    if plain:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(plain))
            .values(
                status=S.DELIVERED,
                next_attempt_at=None,
                last_error=None,
                sent_at=func.coalesce(Notification.sent_at, now),
                lease_expires_at=None,
                claim_token=None,
            )
            .execution_options(synchronize_session="fetch")
        )
        summary.delivered += len(plain)
        for id_ in plain:
            row = held[id_]
            report_status(session, row.source_type, row.source_id, S.DELIVERED, now)
    done = set(plain)
    rest = [(job, outcome) for job, outcome in results if job.id in held and job.id not in done]
    if rest:
        rows = {
            n.id: n
            for n in session.scalars(
                select(Notification).where(Notification.id.in_([job.id for job, _ in rest]))
            )
        }
        for job, outcome in sorted(rest, key=lambda r: r[0].id):
            _apply(session, rows[job.id], outcome, now, policy, summary)


def _apply(
    session: Session,
    n: Notification,
    outcome: _Outcome,
    now: datetime,
    policy: RetryPolicy,
    summary: DispatchSummary,
) -> None:
    """One outcome on a row this dispatcher still holds (already locked by the caller)."""
    n.lease_expires_at, n.claim_token = None, None
    if outcome.status == S.DELIVERED:
        n.status, n.next_attempt_at, n.last_error = S.DELIVERED, None, None
        n.sent_at = n.sent_at or now
        summary.delivered += 1
    elif outcome.status == S.SENT:
        n.status, n.last_error = S.SENT, None
        n.sent_at = n.sent_at or now
        more = n.resends < policy.max_resends
        n.next_attempt_at = now + policy.ack_timeout if more else None
        summary.sent += 1
    elif outcome.status == S.FAILED:
        n.status, n.next_attempt_at, n.last_error = S.FAILED, None, outcome.error
        summary.failed += 1
    elif now - n.created_at >= policy.max_age:
        n.status, n.next_attempt_at, n.last_error = S.DEAD, None, outcome.error
        summary.dead += 1
    else:
        n.status, n.last_error = S.PENDING, outcome.error
        n.next_attempt_at = now + (outcome.retry_after or policy.delay(n.attempts))
        summary.retried += 1
    if outcome.disable_endpoint and n.endpoint_id is not None:
        endpoint = session.get(DeliveryEndpoint, n.endpoint_id)
        if endpoint is not None:
            endpoint.active, endpoint.disabled_reason = False, outcome.disable_endpoint
    session.flush()
    report_outcome(session, n, now)
    if outcome.ack is not None:
        apply_acknowledgement(session, n, outcome.ack, now, policy)
        summary.acknowledged += n.status == S.ACKNOWLEDGED
