"""Flags on the nurse's worklist, the somatic screenings one rule reads, and job runs."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.base import Base, BigId, UTCDateTime, utcnow
from bridge.domain.registry.models import str_enum


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


# Percent of each page a flag table insert fills; the rest is room for the next scan's update.
FLAG_FILLFACTOR = 50


class Flag(Base):
    """One live gap per rule and subject: a re-detected gap updates its flag, never adds one."""

    __tablename__ = "flag"
    __table_args__ = (
        Index(
            "uq_flag_live_per_rule_subject",
            "rule",
            "subject_type",
            "subject_id",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
            sqlite_where=text("status <> 'resolved'"),
        ),
        # The worklist: most severe, then oldest first.
        Index("ix_flag_worklist", "status", "severity", "first_detected_at", "id"),
        Index("ix_flag_patient_id", "patient_id"),
        # The overview counts the flags opened in a period.
        Index("ix_flag_first_detected_at", "first_detected_at"),
        Index("ix_flag_nurse_id", "nurse_id"),
        # Every scan rewrites each live flag (last_seen_at). With room left on each page the new
        # row version stays on its page and no index is touched (a HOT update): the scan's
        # writes took about a third of the time at 10,000 patients (bench/RESULTS.md).
        {"postgresql_with": {"fillfactor": FLAG_FILLFACTOR}},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    # The nurse the flag is about when it concerns her rather than a patient (her caseload).
    nurse_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(BigId)
    severity: Mapped[int] = mapped_column(Integer)
    message_da: Mapped[str] = mapped_column(String(500))
    message_en: Mapped[str] = mapped_column(String(500))
    status: Mapped[FlagStatus] = mapped_column(
        str_enum(FlagStatus, "flag_status"), default=FlagStatus.OPEN
    )
    first_detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolution: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class SomaticScreening(Base):
    """A recorded somatic screening (weight, blood pressure, blood tests) of a patient."""

    __tablename__ = "somatic_screening"
    __table_args__ = (
        Index("ix_somatic_screening_patient_id_screened_on", "patient_id", "screened_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    screened_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
