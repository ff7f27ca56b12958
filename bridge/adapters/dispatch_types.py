"""The dispatcher's settings, its summary, and a job and its outcome as they pass between claiming,
delivering and recording.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy.orm import Session

from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.destinations import DestinationPolicy
from bridge.domain.notifications.messages import (
    Acknowledgement,
    Attachment,
    OrganisationRef,
)
from bridge.domain.notifications.models import (
    Channel,
    Notification,
    NotificationStatus,
)

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
