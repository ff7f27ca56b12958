"""The outbox: one Notification per recipient and channel, and where each channel delivers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.base import Base, BigId, UTCDateTime, utcnow
from bridge.domain.registry.models import str_enum


class Channel(enum.StrEnum):
    FHIR = "fhir"
    WEBHOOK = "webhook"
    EMAIL = "email"
    INBOX = "inbox"


#: Channels that may carry the patient's name and masked CPR (authenticated, health-data grade).
HEALTH_DATA_CHANNELS = frozenset({Channel.FHIR, Channel.INBOX})


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"  # handed over (FHIR 2xx), awaiting the receiver's acknowledgement
    DELIVERED = "delivered"  # accepted by the receiver (webhook 2xx, SMTP accepted, in the inbox)
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"  # refused for good (negative acknowledgement, endpoint gone)
    DEAD = "dead"  # retried until the maximum age


class DeliveryEndpoint(Base):
    """Where an organisation receives one channel. The inbox needs no row: every org has it."""

    __tablename__ = "delivery_endpoint"
    __table_args__ = (
        UniqueConstraint("organisation_id", "channel"),
        CheckConstraint("channel <> 'inbox'", name="inbox_is_implicit"),
        CheckConstraint("(channel = 'email') = (email IS NOT NULL)", name="email_has_address"),
        CheckConstraint("(channel = 'email') <> (url IS NOT NULL)", name="http_has_url"),
        CheckConstraint("(channel = 'webhook') = (secret IS NOT NULL)", name="webhook_has_secret"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "delivery_channel"))
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    # Kept in clear because signing needs them; shown to the admin once, never listed.
    secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def secrets_at(self, now: datetime) -> list[str]:
        """The secrets to sign with: the current one, plus the previous during the overlap."""
        found = [self.secret] if self.secret else []
        if self.previous_secret and self.previous_valid_until and now < self.previous_valid_until:
            found.append(self.previous_secret)
        return found


class Notification(Base):
    """One message to one organisation over one channel, written in the event's transaction."""

    __tablename__ = "notification"
    __table_args__ = (
        # The dispatcher's scan: due rows by state and time.
        Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
        # The inbox: an organisation's rows of one channel, newest first.
        Index("ix_notification_recipient_channel_id", "recipient_organisation_id", "channel", "id"),
        Index("ix_notification_source", "source_type", "source_id"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "notification_channel"))
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_endpoint.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The caller's key for the event; idempotency_key adds the channel and is unique.
    event_key: Mapped[str] = mapped_column(String(200), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(220), unique=True)
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus, "notification_status"), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resends: Mapped[int] = mapped_column(Integer, default=0)  # FHIR resends for lack of an ack
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    # Transport-level reasons only (status codes, exception names): never health data.
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_header_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    bundle_id: Mapped[str | None] = mapped_column(String(64))
    source_type: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
