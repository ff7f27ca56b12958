"""Claiming due notifications (``FOR UPDATE SKIP LOCKED`` and a lease) and building what each
channel sends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from bridge.adapters.dispatch_types import DispatchSettings, S, _Job
from bridge.adapters.fhir_care_communication import fhir_bundle
from bridge.domain.notifications import channels, texts
from bridge.domain.notifications.messages import (
    Attachment,
    OrganisationRef,
    PatientRef,
)
from bridge.domain.notifications.models import (
    Channel,
    DeliveryEndpoint,
    Notification,
)
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Organisation, Staff

# --- claiming ---------------------------------------------------------------------------------


def _due(now: datetime) -> ColumnElement[bool]:
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
            endpoints.get(n.endpoint_id) if n.endpoint_id is not None else None,
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
    job = partial(
        _Job, id=n.id, token=str(n.claim_token), channel=n.channel, endpoint_id=n.endpoint_id
    )
    if endpoint is None or not endpoint.active:
        reason = endpoint.disabled_reason if endpoint else None
        return job(error=f"endpoint disabled: {reason or 'no endpoint'}"[:500])
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
        return job(url=endpoint.url, body=body, headers=headers)
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
        return job(email=msg)
    # FHIR: a health-data channel, with the full CPR in the Patient resource as MedCom requires.
    patient = patients.get(n.patient_id) if n.patient_id else None
    receiver = orgs.get(n.recipient_organisation_id)
    if patient is None or receiver is None:
        return job(error="a FHIR message needs a patient and a recipient")
    if settings.sender is None:
        return job(error="no MedCom sender organisation is configured")
    text = payload.get("text", {}).get("da", {})
    thread: dict[str, Any] = payload.get("thread") or {}
    try:
        body = fhir_bundle(
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
            # A reply is read in the receiver's own system: no link back into Bridge.
            link=None if thread else link,
            attachments=attachments,
            earlier=thread.get("earlier"),
            activity=thread.get("activity"),
        )
    except ValueError as exc:
        # The builder's messages name fields and organisations, never the patient's data.
        return job(error=f"cannot build the FHIR message: {exc}"[:500])
    headers = {"content-type": channels.FHIR_CONTENT_TYPE, "accept": channels.FHIR_CONTENT_TYPE}
    return job(message_header_id=n.message_header_id, url=endpoint.url, body=body, headers=headers)
