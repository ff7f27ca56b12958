"""Patient-scoped records. Everything here is health data and is read through access control."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Protocol

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bridge.domain.base import Base, ColumnRecord, UTCDateTime, utcnow
from bridge.domain.identifiers import mask_cpr
from bridge.domain.registry.models import Organisation, OrganisationKind, Staff, str_enum


class PatientStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DECEASED = "deceased"


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class _WithCpr(Protocol):
    @property
    def cpr(self) -> str: ...


class MaskedCpr:
    """What a patient's entity and its record show of the CPR number."""

    __slots__ = ()

    @property
    def cpr_masked(self: _WithCpr) -> str:
        return mask_cpr(self.cpr)


class Patient(MaskedCpr, Base):
    __tablename__ = "patient"
    __table_args__ = (
        Index("ix_patient_municipality_id_id", "municipality_id", "id"),
        Index("ix_patient_gp_practice_id_id", "gp_practice_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cpr: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    gp_practice_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[PatientStatus] = mapped_column(
        str_enum(PatientStatus, "patient_status"), default=PatientStatus.ACTIVE
    )
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    municipality: Mapped[Organisation] = relationship(foreign_keys=[municipality_id], lazy="raise")
    gp_practice: Mapped[Organisation | None] = relationship(
        foreign_keys=[gp_practice_id], lazy="raise"
    )

    __mapper_args__ = {"version_id_col": version}


@dataclass(frozen=True, slots=True)
class PatientRecord(MaskedCpr, ColumnRecord):
    """A patient as the API's read and list show it (see ColumnRecord)."""

    entity: ClassVar[type[Base]] = Patient

    id: int
    cpr: str
    name: str
    birth_date: date
    sex: Sex
    municipality_id: int
    gp_practice_id: int | None
    status: PatientStatus
    created_at: datetime
    updated_at: datetime
    version: int


class Relative(Base):
    __tablename__ = "relative"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(200))
    may_receive_information: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Diagnosis(Base):
    __tablename__ = "diagnosis"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    psychiatric: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(String(300))
    diagnosed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enrollment(Base):
    """A bridge-nurse course (forløb): the period a nurse follows the patient."""

    __tablename__ = "enrollment"
    __table_args__ = (
        # At most one active course per patient, enforced by the database itself.
        Index(
            "uq_enrollment_one_active_per_patient",
            "patient_id",
            unique=True,
            postgresql_where=text("end_date IS NULL"),
            sqlite_where=text("end_date IS NULL"),
        ),
        Index(
            "ix_enrollment_nurse_id_active",
            "nurse_id",
            "patient_id",
            postgresql_where=text("end_date IS NULL"),
            sqlite_where=text("end_date IS NULL"),
        ),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    nurse_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    end_reason: Mapped[str | None] = mapped_column(String(500))
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    nurse: Mapped[Staff] = relationship(foreign_keys=[nurse_id], lazy="raise")

    __mapper_args__ = {"version_id_col": version}

    @property
    def active(self) -> bool:
        return self.end_date is None


class CareTeamRole(enum.StrEnum):
    PSYCHIATRY = "psychiatry"
    SOMATIC = "somatic"
    MUNICIPALITY = "municipality"
    GP = "gp"
    PRACTISING_PSYCHIATRIST = "practising_psychiatrist"
    HOUSING = "housing"
    OTHER = "other"


class CareTeamMember(Base):
    __tablename__ = "care_team_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    role: Mapped[CareTeamRole] = mapped_column(str_enum(CareTeamRole, "care_team_role"))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_info: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="raise")


class ConsentScope(enum.StrEnum):
    MINUTES = "minutes"
    DISCHARGE = "discharge"
    ALL = "all"


class Consent(Base):
    """Consent to share with one organisation or with every organisation of a kind.

    A consent row is never edited except to record its withdrawal, so its history is the table.
    """

    __tablename__ = "consent"
    __table_args__ = (
        CheckConstraint(
            "(recipient_organisation_id IS NULL) <> (recipient_kind IS NULL)",
            name="one_recipient",
        ),
        CheckConstraint("withdrawn_at IS NULL OR withdrawn_at >= given_at", name="withdrawn_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    recipient_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    recipient_kind: Mapped[OrganisationKind | None] = mapped_column(
        str_enum(OrganisationKind, "consent_recipient_kind")
    )
    scope: Mapped[ConsentScope] = mapped_column(str_enum(ConsentScope, "consent_scope"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class CareRequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class CareRequest(Base):
    """A nurse's request to join the care of a person who is already in Bridge but not hers.

    It is what registering an already registered CPR number becomes: the requester learns only
    that a request was sent; the patient's current nurse (or an admin, when nobody holds the
    course) decides. Accepting hands the course to the requester.
    """

    __tablename__ = "care_request"
    __table_args__ = (
        Index("ix_care_request_requested_by_id_created_at", "requested_by_id", "created_at"),
        Index("ix_care_request_patient_id_status", "patient_id", "status"),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="decided_when_not_pending"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[CareRequestStatus] = mapped_column(
        str_enum(CareRequestStatus, "care_request_status"), default=CareRequestStatus.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    # Set by the services: whether this caller may see the patient the request is about.
    patient_shown = False

    @property
    def shown_patient_id(self) -> int | None:
        """The patient's id for a caller who may see them; nobody else learns it."""
        return self.patient_id if self.patient_shown else None
