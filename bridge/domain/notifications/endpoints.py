"""Delivery endpoints of an organisation (webhooks, e-mail, MedCom): register, change, rotate
secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.notifications.channels import generate_webhook_secret
from bridge.domain.notifications.destinations import DestinationPolicy, check_url
from bridge.domain.notifications.models import (
    Channel,
    DeliveryEndpoint,
)
from bridge.domain.registry.models import Organisation, Role

# --- delivery endpoints -----------------------------------------------------------------------

DEFAULT_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class EndpointWithSecret:
    """An endpoint and, right after creation or rotation, its new secret (shown once)."""

    endpoint: DeliveryEndpoint
    secret: str | None


@dataclass(frozen=True)
class NewEndpoint:
    """A delivery endpoint to configure: a url for FHIR and webhooks, an address for email."""

    channel: Channel
    url: str | None = None
    email: str | None = None


def create_endpoint(
    session: Session,
    p: Principal,
    organisation_id: int,
    cmd: NewEndpoint,
    destinations: DestinationPolicy,
) -> EndpointWithSecret:
    """Configure a FHIR, webhook or email endpoint for an organisation (admin)."""
    p.require(Role.ADMIN)
    if session.get(Organisation, organisation_id) is None:
        raise NotFound("no such organisation")
    channel = Channel(cmd.channel)
    if channel == Channel.INBOX:
        raise RuleViolation("every organisation has the inbox already", field="channel")
    endpoint = DeliveryEndpoint(organisation_id=organisation_id, channel=channel, active=True)
    secret = None
    if channel == Channel.EMAIL:
        if not cmd.email or cmd.url:
            raise RuleViolation("an email endpoint needs email and no url", field="email")
        endpoint.email = cmd.email
    else:
        if cmd.email:
            raise RuleViolation("only an email endpoint has an email address", field="email")
        endpoint.url = check_url(cmd.url, destinations)
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
