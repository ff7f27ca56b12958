"""Hospital stays, the plans the law names for psychiatric discharges, and follow-up tasks."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    exists,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from bridge.domain.access import treatment_access_since
from bridge.domain.base import Base, ColumnRecord, UTCDateTime, utcnow
from bridge.domain.calendar import deadline_day
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Specialty, str_enum

if TYPE_CHECKING:
    from bridge.domain.access import Principal

SUMMARY_MAX = 4000


class Destination(enum.StrEnum):
    HOME = "home"
    HOUSING_FACILITY = "housing_facility"
    OTHER_HOSPITAL = "other_hospital"
    DECEASED = "deceased"


class Admission(Base):
    """One stay in one hospital department, from admission to discharge."""

    __tablename__ = "admission"
    __table_args__ = (
        # A patient cannot lie twice in the same department at once; the database says so too.
        Index(
            "uq_admission_one_open_per_department",
            "patient_id",
            "department_id",
            unique=True,
            postgresql_where=text("discharged_at IS NULL"),
            sqlite_where=text("discharged_at IS NULL"),
        ),
        Index("ix_admission_patient_id_admitted_at", "patient_id", "admitted_at"),
        Index("ix_admission_department_id_patient_id", "department_id", "patient_id"),
        Index("ix_admission_discharged_at", "discharged_at"),
        CheckConstraint(
            "discharged_at IS NULL OR discharged_at >= admitted_at", name="discharged_after"
        ),
        CheckConstraint(
            "(discharged_at IS NULL) = (destination IS NULL)", name="destination_on_discharge"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # Copied from the department so a later change of the department does not rewrite history.
    specialty: Mapped[Specialty] = mapped_column(str_enum(Specialty, "admission_specialty"))
    acute: Mapped[bool] = mapped_column(Boolean)
    admitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destination: Mapped[Destination | None] = mapped_column(
        str_enum(Destination, "discharge_destination")
    )
    discharge_summary: Mapped[str | None] = mapped_column(String(SUMMARY_MAX))
    rehabilitation_plan_issued: Mapped[bool] = mapped_column(Boolean, default=False)
    network_meeting_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    discharged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    # Read-model flags, filled in by the services from the set-based queries; never stored.
    dual_admission = False
    readmission = False

    @property
    def open(self) -> bool:
        return self.discharged_at is None


class StatutoryPlanKind(enum.StrEnum):
    UDSKRIVNINGSAFTALE = "udskrivningsaftale"  # psykiatriloven § 13 a
    KOORDINATIONSPLAN = "koordinationsplan"  # psykiatriloven § 13 b
    KIP = "kip"  # koordinerende indsatsplan


class StatutoryPlan(Base):
    """A plan the law names, made for a psychiatric discharge."""

    __tablename__ = "statutory_plan"
    __table_args__ = (
        UniqueConstraint("admission_id", "kind"),
        CheckConstraint(
            "kind <> 'koordinationsplan' OR NOT patient_took_part", name="koordination_without"
        ),
        CheckConstraint(
            "next_review_date IS NULL OR next_review_date >= agreed_on", name="review_after"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("admission.id"), index=True)
    kind: Mapped[StatutoryPlanKind] = mapped_column(
        str_enum(StatutoryPlanKind, "statutory_plan_kind")
    )
    agreed_on: Mapped[date] = mapped_column(Date)
    patient_took_part: Mapped[bool] = mapped_column(Boolean)
    goals: Mapped[str | None] = mapped_column(String(2000))
    next_review_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    participants: Mapped[list[StatutoryPlanParticipant]] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="StatutoryPlanParticipant.organisation_id",
    )
    efforts: Mapped[list[PlanEffort]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PlanEffort.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def participant_ids(self) -> list[int]:
        return [p.organisation_id for p in self.participants]


class StatutoryPlanParticipant(Base):
    __tablename__ = "statutory_plan_participant"

    plan_id: Mapped[int] = mapped_column(ForeignKey("statutory_plan.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id"), primary_key=True, index=True
    )


class PlanEffort(Base):
    """One effort (indsats) of a plan, owned by one organisation."""

    __tablename__ = "plan_effort"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("statutory_plan.id"), index=True)
    description: Mapped[str] = mapped_column(String(500))
    responsible_organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id"), index=True
    )
    responsible_person: Mapped[str | None] = mapped_column(String(200))


class FollowUpCondition(enum.StrEnum):
    ALWAYS = "always"
    DISCHARGE_HOME = "discharge_home"
    REHABILITATION_PLAN_ISSUED = "rehabilitation_plan_issued"
    NETWORK_MEETING_REQUESTED = "network_meeting_requested"


class ResponsibleKind(enum.StrEnum):
    NURSE = "nurse"
    MUNICIPALITY = "municipality"
    GP = "gp"
    HOSPITAL = "hospital"
    PRACTISING_PSYCHIATRIST = "practising_psychiatrist"


class FollowUpTemplate(Base):
    """A local agreement: after this kind of discharge, this party does this within N days."""

    __tablename__ = "follow_up_template"
    __table_args__ = (
        CheckConstraint(
            "(deadline_working_days IS NULL) <> (deadline_hours IS NULL)", name="one_deadline"
        ),
        CheckConstraint(
            "deadline_working_days IS NULL OR deadline_working_days BETWEEN 1 AND 60",
            name="working_days_range",
        ),
        CheckConstraint(
            "deadline_hours IS NULL OR deadline_hours BETWEEN 1 AND 720", name="hours_range"
        ),
        Index("ix_follow_up_template_region_id_applies_to", "region_id", "applies_to", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    applies_to: Mapped[Specialty] = mapped_column(str_enum(Specialty, "template_applies_to"))
    condition: Mapped[FollowUpCondition] = mapped_column(
        str_enum(FollowUpCondition, "follow_up_condition")
    )
    title: Mapped[str] = mapped_column(String(200))
    responsible_kind: Mapped[ResponsibleKind] = mapped_column(
        str_enum(ResponsibleKind, "template_responsible_kind")
    )
    deadline_working_days: Mapped[int | None] = mapped_column(Integer)
    deadline_hours: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class _WithDeadline(Protocol):
    @property
    def status(self) -> FollowUpStatus: ...
    @property
    def due_at(self) -> datetime: ...


class TaskDeadline:
    """What a follow-up task's entity and its record derive from its deadline."""

    __slots__ = ()

    def overdue(self: _WithDeadline, now: datetime) -> bool:
        """Open and past its deadline."""
        return follow_up_is_overdue(self.status, self.due_at, now)

    @property
    def due_on(self: _WithDeadline) -> date:
        """The day the deadline ends on (what every page and message shows)."""
        return deadline_day(self.due_at)


class FollowUpTask(TaskDeadline, Base):
    """One task after a discharge. Title and deadline are copied from the template when made,
    so a later change of the template leaves existing plans alone."""

    __tablename__ = "follow_up_task"
    __table_args__ = (
        Index("ix_follow_up_task_due_at_id", "due_at", "id"),
        Index("ix_follow_up_task_patient_id_due_at", "patient_id", "due_at"),
        Index("ix_follow_up_task_responsible_org_due", "responsible_organisation_id", "due_at"),
        Index("ix_follow_up_task_status_due_at", "status", "due_at"),
        # The worklist of open tasks (the list's default): in deadline order for a caller who
        # sees many patients, through the patients for one who sees few; the planner picks.
        Index(
            "ix_follow_up_task_open_due",
            "due_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index(
            "ix_follow_up_task_open_patient_due",
            "patient_id",
            "due_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        # A municipality's and a GP practice's open tasks in deadline order: a page reads a
        # page of entries, however many residents or listed patients there are (through the
        # patients, or along the deadlines past everyone else's tasks, a page grew with the
        # country).
        Index(
            "ix_follow_up_task_open_municipality_due",
            "patient_municipality_id",
            "due_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index(
            "ix_follow_up_task_open_gp_practice_due",
            "patient_gp_practice_id",
            "due_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        CheckConstraint(
            "status <> 'done' OR (done_at IS NOT NULL AND done_by_id IS NOT NULL)",
            name="done_has_who",
        ),
        CheckConstraint(
            "status <> 'cancelled' OR cancel_reason IS NOT NULL", name="cancel_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    # Copies of the patient's municipality and GP practice, for the indexes above only: database
    # triggers keep them (migration followup_home_1); sight is still decided on the patient.
    patient_municipality_id: Mapped[int | None] = mapped_column(
        Integer, server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    patient_gp_practice_id: Mapped[int | None] = mapped_column(
        Integer, server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    admission_id: Mapped[int | None] = mapped_column(ForeignKey("admission.id"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up_template.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    responsible_kind: Mapped[ResponsibleKind] = mapped_column(
        str_enum(ResponsibleKind, "task_responsible_kind")
    )
    # NULL when the party is unknown (a patient without a GP): the gap jobs look for these.
    responsible_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    responsible_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[FollowUpStatus] = mapped_column(
        str_enum(FollowUpStatus, "follow_up_status"), default=FollowUpStatus.OPEN
    )
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_note: Mapped[str | None] = mapped_column(String(1000))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


@dataclass(frozen=True, slots=True)
class FollowUpRecord(TaskDeadline, ColumnRecord):
    """A follow-up task as the lists show it (see ColumnRecord)."""

    entity: ClassVar[type[Base]] = FollowUpTask

    id: int
    patient_id: int
    admission_id: int | None
    template_id: int | None
    title: str
    responsible_kind: ResponsibleKind
    responsible_organisation_id: int | None
    responsible_staff_id: int | None
    due_at: datetime
    status: FollowUpStatus
    done_by_id: int | None
    done_at: datetime | None
    done_note: str | None
    cancelled_by_id: int | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_by_id: int | None
    created_at: datetime
    version: int


def follow_up_is_overdue(status: str, due_at: datetime, now: datetime) -> bool:
    """Open and past its deadline; for a task read as columns rather than loaded."""
    return status == FollowUpStatus.OPEN and due_at < now


# The rule's own alias: a query that already selects from admission (the Today page's recent
# discharges) would otherwise correlate the rule's admission with its own and leave the EXISTS
# with no FROM at all. Built once, as aliasing is not free.
_STAY = aliased(Admission)
# An alias: a list of tasks filtered by the rule below must not correlate it with its own rows
# (built once; aliasing costs enough to show in a request's profile).
_TASK = aliased(FollowUpTask)


def hospital_sees_admitted(p: Principal) -> ColumnElement[bool]:
    """Hospital staff see the patients in a stay in their own department, and for the
    configured period after its discharge (the treatment relation); then the sight ends, unless
    the department still has an open follow-up task for the patient (until it is done)."""
    stay = _STAY
    in_treatment = exists().where(
        stay.patient_id == Patient.id,
        stay.department_id == p.organisation_id,
        or_(
            stay.discharged_at.is_(None),
            stay.discharged_at
            >= bindparam("treatment_since", callable_=treatment_access_since, type_=UTCDateTime()),
        ),
    )
    task = _TASK
    following_up = exists().where(
        task.patient_id == Patient.id,
        task.responsible_organisation_id == p.organisation_id,
        task.status == FollowUpStatus.OPEN,
    )
    return or_(in_treatment, following_up)
