"""Network meetings (netværksmøder), their minutes in versions, action items and distribution."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Protocol

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bridge.domain.base import Base, ColumnRecord, UTCDateTime, utcnow
from bridge.domain.calendar import deadline_day
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import str_enum


class MeetingStatus(enum.StrEnum):
    REQUESTED = "requested"
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class RequesterKind(enum.StrEnum):
    PATIENT = "patient"
    RELATIVE = "relative"
    MUNICIPALITY = "municipality"
    HOSPITAL = "hospital"
    GP = "gp"
    NURSE = "nurse"


class ParticipantKind(enum.StrEnum):
    ORGANISATION = "organisation"
    PATIENT = "patient"
    RELATIVE = "relative"


class MinutesStatus(enum.StrEnum):
    DRAFT = "draft"
    FINAL = "final"


class ActionItemStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class RecipientKind(enum.StrEnum):
    ORGANISATION = "organisation"
    RELATIVE = "relative"
    NURSE = "nurse"


class RecipientRole(enum.StrEnum):
    GP = "gp"
    RESIDENCE_MUNICIPALITY = "residence_municipality"
    PARTICIPANT = "participant"
    NURSE = "nurse"


class Channel(enum.StrEnum):
    # Delivered by the notifications outbox as a MedCom message (not built in this area).
    MEDCOM = "medcom"
    # The municipality pulls it from /municipalities/{code}/meeting-summaries.
    PULL = "pull"
    # The nurse reads it in Bridge itself.
    INTERNAL = "internal"
    # Handed over by the nurse (relatives have no electronic address in Bridge).
    MANUAL = "manual"


class MeetingUrgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class HandoverMethod(enum.StrEnum):
    """How a manual copy reached its recipient (a relative, the patient)."""

    IN_PERSON = "in_person"
    POST = "post"
    OTHER = "other"


class DistributionStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    BLOCKED = "blocked"


class _WithHoldBy(Protocol):
    @property
    def status(self) -> MeetingStatus: ...
    @property
    def hold_by(self) -> datetime | None: ...


class HoldByDeadline:
    """What a meeting's entity and its record derive from its hold-by deadline."""

    __slots__ = ()

    def overdue(self: _WithHoldBy, now: datetime) -> bool:
        """Requested and past the regional hold-by date: late until it is planned."""
        return meeting_request_is_overdue(self.status, self.hold_by, now)

    @property
    def hold_by_on(self: _WithHoldBy) -> date | None:
        """The day the hold-by deadline ends on (what pages and messages show)."""
        return deadline_day(self.hold_by) if self.hold_by else None


class NetworkMeeting(HoldByDeadline, Base):
    __tablename__ = "network_meeting"
    __table_args__ = (
        Index("ix_network_meeting_patient_id_id", "patient_id", "id"),
        Index("ix_network_meeting_status_id", "status", "id"),
        CheckConstraint(
            "scheduled_end IS NULL OR scheduled_start IS NULL OR scheduled_end > scheduled_start",
            name="ends_after_start",
        ),
        CheckConstraint(
            "status <> 'cancelled' OR cancel_reason IS NOT NULL", name="cancel_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    organiser_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    status: Mapped[MeetingStatus] = mapped_column(str_enum(MeetingStatus, "meeting_status"))
    requested_by_kind: Mapped[RequesterKind | None] = mapped_column(
        str_enum(RequesterKind, "meeting_requester_kind")
    )
    requested_by_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    requested_by_relative_id: Mapped[int | None] = mapped_column(ForeignKey("relative.id"))
    requested_by_person: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_at_discharge: Mapped[bool] = mapped_column(Boolean, default=False)
    # A request made by a recipient organisation through the API or its web area: why, and how
    # urgently (MeetingUrgency values; a plain string so the set can grow without a migration).
    request_reason: Mapped[str | None] = mapped_column(Text)
    request_urgency: Mapped[str | None] = mapped_column(String(20))
    # When a meeting requested at discharge must be held by (the regional agreement's clock).
    hold_by: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    scheduled_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(300))
    video_link: Mapped[str | None] = mapped_column(String(500))
    agenda: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    patient: Mapped[Patient] = relationship(lazy="raise")
    participants: Mapped[list[MeetingParticipant]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="MeetingParticipant.id"
    )

    __mapper_args__ = {"version_id_col": version}


def meeting_request_is_overdue(status: str, hold_by: datetime | None, now: datetime) -> bool:
    """A requested meeting past its hold-by date; for a meeting read as columns."""
    return status == MeetingStatus.REQUESTED and hold_by is not None and hold_by < now


class MeetingParticipant(Base):
    __tablename__ = "meeting_participant"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'organisation') = (organisation_id IS NOT NULL)", name="organisation_given"
        ),
        CheckConstraint("(kind = 'relative') = (relative_id IS NOT NULL)", name="relative_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("network_meeting.id"), index=True)
    kind: Mapped[ParticipantKind] = mapped_column(str_enum(ParticipantKind, "participant_kind"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    relative_id: Mapped[int | None] = mapped_column(ForeignKey("relative.id"))
    person_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    # A municipality taking part as treating health-care staff (home nursing, municipal
    # psychiatric nursing) rather than as social services: see distribution.py.
    treating_health_care: Mapped[bool] = mapped_column(Boolean, default=False)
    attended: Mapped[bool | None] = mapped_column(Boolean)


@dataclass(frozen=True, slots=True)
class ParticipantRecord(ColumnRecord):
    """A meeting's participant as the meeting list shows it (see ColumnRecord)."""

    entity: ClassVar[type[Base]] = MeetingParticipant

    id: int
    meeting_id: int
    kind: ParticipantKind
    organisation_id: int | None
    relative_id: int | None
    person_name: str | None
    role: str | None
    treating_health_care: bool
    attended: bool | None


@dataclass(frozen=True, slots=True)
class MeetingRecord(HoldByDeadline, ColumnRecord):
    """A network meeting as the meeting list shows it, with its participants (see
    ColumnRecord)."""

    entity: ClassVar[type[Base]] = NetworkMeeting

    id: int
    patient_id: int
    organiser_id: int
    status: MeetingStatus
    requested_by_kind: RequesterKind | None
    requested_by_organisation_id: int | None
    requested_by_relative_id: int | None
    requested_by_person: str | None
    requested_at: datetime | None
    requested_at_discharge: bool
    request_reason: str | None
    request_urgency: str | None
    hold_by: datetime | None
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    place: str | None
    video_link: str | None
    agenda: str | None
    cancel_reason: str | None
    held_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    participants: tuple[ParticipantRecord, ...] = ()


class MinutesVersion(Base):
    """One version of a meeting's minutes. A final version is never edited again."""

    __tablename__ = "minutes_version"
    __table_args__ = (
        UniqueConstraint("meeting_id", "version_no"),
        # At most one draft per meeting: two nurses cannot start competing amendments.
        Index(
            "uq_minutes_version_one_draft",
            "meeting_id",
            unique=True,
            postgresql_where=text("status = 'draft'"),
            sqlite_where=text("status = 'draft'"),
        ),
        # The municipality feed's keyset.
        Index("ix_minutes_version_change_xid_change_seq", "change_xid", "change_seq"),
        # The overview reads final minutes by the period they were finalised in.
        Index("ix_minutes_version_finalised_at", "finalised_at"),
        CheckConstraint(
            "status <> 'final' OR finalised_at IS NOT NULL", name="final_has_timestamp"
        ),
        CheckConstraint("version_no > 0", name="version_no_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("network_meeting.id"))
    version_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[MinutesStatus] = mapped_column(str_enum(MinutesStatus, "minutes_status"))
    summary: Mapped[str] = mapped_column(Text, default="")
    decisions: Mapped[str] = mapped_column(Text, default="")
    amendment_reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalised_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Change feed position (see services.stamp_change): on PostgreSQL the writing transaction's
    # id and a sequence value; the feed serves only rows whose transaction is settled.
    change_xid: Mapped[int | None] = mapped_column(BigInteger)
    change_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    action_items: Mapped[list[ActionItem]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ActionItem.id"
    )
    meeting: Mapped[NetworkMeeting] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}


class ActionItem(Base):
    __tablename__ = "action_item"
    __table_args__ = (
        Index(
            "ix_action_item_responsible_organisation_id_status",
            "responsible_organisation_id",
            "status",
        ),
        CheckConstraint("status <> 'done' OR done_at IS NOT NULL", name="done_has_timestamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_version_id: Mapped[int] = mapped_column(ForeignKey("minutes_version.id"), index=True)
    description: Mapped[str] = mapped_column(String(1000))
    responsible_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    person: Mapped[str | None] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[ActionItemStatus] = mapped_column(
        str_enum(ActionItemStatus, "action_item_status"), default=ActionItemStatus.OPEN
    )
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Distribution(Base):
    """One recipient of one minutes version: why they may receive it and how far delivery got."""

    __tablename__ = "distribution"
    __table_args__ = (
        UniqueConstraint("minutes_version_id", "recipient_key"),
        Index(
            "ix_distribution_recipient_organisation_id_status",
            "recipient_organisation_id",
            "status",
        ),
        Index("ix_distribution_status_channel", "status", "channel"),
        # A municipality's feed in change order, read from the index a page at a time.
        Index(
            "ix_distribution_recipient_change",
            "recipient_organisation_id",
            "change_xid",
            "change_seq",
        ),
        CheckConstraint(
            "(status = 'blocked') = (blocked_reason IS NOT NULL)", name="blocked_has_reason"
        ),
        CheckConstraint(
            "(status = 'blocked') <> (legal_basis IS NOT NULL)", name="sent_has_legal_basis"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_version_id: Mapped[int] = mapped_column(ForeignKey("minutes_version.id"), index=True)
    # "org:<id>", "relative:<id>" or "nurse:<staff id>": one row per recipient and version.
    recipient_key: Mapped[str] = mapped_column(String(40))
    recipient_kind: Mapped[RecipientKind] = mapped_column(str_enum(RecipientKind, "recipient_kind"))
    recipient_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    recipient_relative_id: Mapped[int | None] = mapped_column(ForeignKey("relative.id"))
    recipient_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    recipient_role: Mapped[RecipientRole] = mapped_column(str_enum(RecipientRole, "recipient_role"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "distribution_channel"))
    status: Mapped[DistributionStatus] = mapped_column(
        str_enum(DistributionStatus, "distribution_status")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_reason: Mapped[str | None] = mapped_column(String(500))
    # "consent:<id>", "relative-consent:<relative id>" or "statutory:treating-health-professionals"
    legal_basis: Mapped[str | None] = mapped_column(String(100))
    # The minutes version's change feed position, copied (minutes.stamp_change keeps them equal)
    # so that a recipient's feed is one index range instead of a sort of its whole history.
    change_xid: Mapped[int | None] = mapped_column(BigInteger)
    change_seq: Mapped[int | None] = mapped_column(BigInteger)
    # A manual copy handed over by the nurse: when, to whom, how (HandoverMethod), by whom.
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_over_to: Mapped[str | None] = mapped_column(String(200))
    handover_method: Mapped[str | None] = mapped_column(String(20))
    handed_over_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
