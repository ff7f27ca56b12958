"""Inbound MedCom messages as kept for audit and the duplicate rule, and message threads."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bridge.domain.base import Base, UTCDateTime, utcnow
from bridge.domain.registry.models import str_enum


class InboundKind(enum.StrEnum):
    CARE_COMMUNICATION = "care-communication-message"
    HOSPITAL_NOTIFICATION = "hospital-notification-message"
    ACKNOWLEDGEMENT = "acknowledgement-message"
    UNKNOWN = "unknown"


class InboundMessage(Base):
    """One message received, its effect and the acknowledgement it got.

    The (sender, MessageHeader id) key is MedCom's duplicate rule: the same message again gets
    the stored acknowledgement and changes nothing. ``bundle`` is kept only for a patient Bridge
    holds: of a person Bridge does not hold, nothing but the envelope ids is stored.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("sender_organisation_id", "message_header_id"),
        Index("ix_inbound_message_patient_id_id", "patient_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    message_header_id: Mapped[str] = mapped_column(String(64))
    bundle_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[InboundKind] = mapped_column(str_enum(InboundKind, "inbound_kind"))
    activity: Mapped[str | None] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    ack_code: Mapped[str | None] = mapped_column(String(20))
    ack_bundle: Mapped[str | None] = mapped_column(Text)
    bundle: Mapped[str | None] = mapped_column(Text)
    # What the message did, so a cancellation can undo exactly that.
    effect: Mapped[str | None] = mapped_column(String(30))
    admission_id: Mapped[int | None] = mapped_column(Integer)
    previous_state: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HospitalEpisode(Base):
    """A hospital's episode of care (MedCom ``episodeOfCare`` identifier) and Bridge's stay."""

    __tablename__ = "hospital_episode"
    __table_args__ = (UniqueConstraint("department_id", "episode_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    episode_identifier: Mapped[str] = mapped_column(String(200))
    # No foreign key: cancelling an admission deletes the stay, the episode stays as history.
    admission_id: Mapped[int | None] = mapped_column(Integer, index=True)
    on_leave_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class MessageThread(Base):
    """A MedCom CareCommunication thread about one patient (its ``Communication.identifier``)."""

    __tablename__ = "message_thread"
    __table_args__ = (UniqueConstraint("patient_id", "thread_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    thread_identifier: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(60))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThreadMessage(Base):
    """One message (payload) of a thread, received or sent."""

    __tablename__ = "thread_message"
    __table_args__ = (
        UniqueConstraint("thread_id", "payload_identifier"),
        Index("ix_thread_message_patient_id_sent_at", "patient_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("message_thread.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "message_direction"))
    activity: Mapped[str] = mapped_column(String(30))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    message_header_id: Mapped[str] = mapped_column(String(64))
    payload_identifier: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_contact: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who is sent a reply or forward from Bridge, and the outbox row carrying it.
    recipient_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))

    attachments: Mapped[list[MessageAttachment]] = relationship(
        lazy="raise", order_by="MessageAttachment.id"
    )


class MessageAttachment(Base):
    """A file or link attached to a message (stored as received)."""

    __tablename__ = "message_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("thread_message.id"), index=True)
    content_type: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(1000))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)
