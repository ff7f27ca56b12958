"""The registry: who takes part in a patient's care, and who may call the API."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bridge.domain.base import Base, UTCDateTime, utcnow


class OrganisationKind(enum.StrEnum):
    REGION = "region"
    MUNICIPALITY = "municipality"
    HOSPITAL = "hospital"
    HOSPITAL_DEPARTMENT = "hospital_department"
    GP_PRACTICE = "gp_practice"
    SPECIALIST_PRACTICE = "specialist_practice"
    SOCIAL_PSYCHIATRY_FACILITY = "social_psychiatry_facility"
    HEALTH_COUNCIL = "health_council"


class Specialty(enum.StrEnum):
    PSYCHIATRY = "psychiatry"
    SOMATIC = "somatic"


class Role(enum.StrEnum):
    ADMIN = "admin"
    NURSE = "nurse"
    MUNICIPALITY = "municipality"
    GP = "gp"
    HOSPITAL = "hospital"


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, storing the values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=40,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Organisation(Base):
    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'hospital_department') = (specialty IS NOT NULL)",
            name="department_has_specialty",
        ),
        Index("ix_organisation_kind_name", "kind", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind, "organisation_kind"))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    specialty: Mapped[Specialty | None] = mapped_column(str_enum(Specialty, "specialty"))
    # SOR codes and GLNs are unique only within overlapping validity periods (a code may be
    # reused after its first holder closed): the services check it, and on PostgreSQL an
    # exclusion constraint of the migration "reform_2027_1" does too.
    sor_code: Mapped[str | None] = mapped_column(String(18), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(4), unique=True)
    region_code: Mapped[str | None] = mapped_column(String(5), unique=True)
    ydernummer: Mapped[str | None] = mapped_column(String(7), unique=True)
    gln: Mapped[str | None] = mapped_column(String(13), index=True)
    # The switchboard a MedCom receiver may call about a message (authorContact).
    phone: Mapped[str | None] = mapped_column(String(30))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # The organisation that takes over when this one closes (Hovedstaden -> Østdanmark).
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    parent: Mapped[Organisation | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], lazy="raise"
    )

    __mapper_args__ = {"version_id_col": version}


class OrganisationMembership(Base):
    """An organisation's membership of a larger one for a period: a municipality or hospital of
    a region, a municipality of a health council. Where an organisation has such rows for a
    kind of group, they, not ``parent_id``, answer "which region on this date"."""

    __tablename__ = "organisation_membership"
    __table_args__ = (
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name="ends_after_start",
        ),
        Index("ix_organisation_membership_member", "organisation_id", "valid_from"),
        Index("ix_organisation_membership_group", "group_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # Her direct line; MedCom messages she authors carry it, else her organisation's phone.
    phone: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    organisation: Mapped[Organisation] = relationship(lazy="raise")
    role_rows: Mapped[list[StaffRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="StaffRole.role"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def roles(self) -> list[str]:
        return [r.role.value for r in self.role_rows]


class StaffRole(Base):
    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), primary_key=True)


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship(lazy="raise")


class BridgeNurse(Base):
    """A nurse's shared employment: one region and the municipalities that co-finance her."""

    __tablename__ = "bridge_nurse"
    __table_args__ = (
        CheckConstraint("caseload_capacity > 0", name="capacity_positive"),
        CheckConstraint("region_share BETWEEN 0 AND 100", name="region_share_percent"),
    )

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    region_share: Mapped[int] = mapped_column(Integer)
    caseload_capacity: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    staff: Mapped[Staff] = relationship(lazy="joined")
    financing: Mapped[list[NurseFinancing]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="NurseFinancing.municipality_id"
    )

    __mapper_args__ = {"version_id_col": version}


class NurseFinancing(Base):
    __tablename__ = "nurse_financing"
    __table_args__ = (CheckConstraint("share BETWEEN 1 AND 100", name="share_percent"),)

    nurse_id: Mapped[int] = mapped_column(ForeignKey("bridge_nurse.staff_id"), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    share: Mapped[int] = mapped_column(Integer)


class RegionRules(Base):
    """A region's own agreement from a date: extra closed days and gap-rule thresholds.

    The row in force on a date is the one with the latest ``valid_from`` not after it. A
    threshold left empty falls back to the national default of the gap scan.
    """

    __tablename__ = "region_rules"
    __table_args__ = (
        UniqueConstraint("region_id", "valid_from"),
        CheckConstraint("gp_ack_working_days BETWEEN 1 AND 60", name="gp_ack_range"),
        CheckConstraint(
            "meeting_request_working_days BETWEEN 1 AND 60", name="meeting_request_range"
        ),
        CheckConstraint(
            "discharge_follow_up_working_days BETWEEN 1 AND 60", name="discharge_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    # Comma-separated names from calendar.CLOSABLE_DAYS, e.g. "juleaften,nytaarsaften".
    closed_days: Mapped[str] = mapped_column(String(200), default="")
    gp_ack_working_days: Mapped[int | None] = mapped_column(Integer)
    meeting_request_working_days: Mapped[int | None] = mapped_column(Integer)
    discharge_follow_up_working_days: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def closed_day_names(self) -> list[str]:
        return sorted(n for n in self.closed_days.split(",") if n)
