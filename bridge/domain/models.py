"""Every model, so the metadata (migrations, create_all) knows the whole schema."""

from sqlalchemy import MetaData
from sqlalchemy.orm import configure_mappers

from bridge.domain.audit import AuditEvent
from bridge.domain.auth.models import StaffLogin
from bridge.domain.auth.throttle import TokenFailure
from bridge.domain.base import Base
from bridge.domain.care.models import (
    Admission,
    FollowUpTask,
    FollowUpTemplate,
    PlanEffort,
    StatutoryPlan,
    StatutoryPlanParticipant,
)
from bridge.domain.gaps.models import Flag, SomaticScreening
from bridge.domain.idempotency import IdempotencyRecord
from bridge.domain.jobruns import JobRun
from bridge.domain.meetings.calendar_feed import CalendarFeed
from bridge.domain.meetings.models import (
    ActionItem,
    Distribution,
    MeetingParticipant,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.messaging.models import (
    HospitalEpisode,
    InboundMessage,
    MessageAttachment,
    MessageThread,
    ThreadMessage,
)
from bridge.domain.notifications.models import DeliveryEndpoint, Notification
from bridge.domain.overview_rollup import OverviewGroup, OverviewMonth
from bridge.domain.patients.models import (
    CareTeamMember,
    Consent,
    Diagnosis,
    Enrollment,
    Patient,
    Relative,
)
from bridge.domain.registry.models import (
    ApiToken,
    BridgeNurse,
    NurseFinancing,
    Organisation,
    Staff,
    StaffRole,
)

__all__ = [
    "ActionItem",
    "Admission",
    "ApiToken",
    "AuditEvent",
    "BridgeNurse",
    "CalendarFeed",
    "CareTeamMember",
    "Consent",
    "DeliveryEndpoint",
    "Diagnosis",
    "Distribution",
    "Enrollment",
    "Flag",
    "FollowUpTask",
    "FollowUpTemplate",
    "HospitalEpisode",
    "IdempotencyRecord",
    "InboundMessage",
    "JobRun",
    "MeetingParticipant",
    "MessageAttachment",
    "MessageThread",
    "MinutesVersion",
    "NetworkMeeting",
    "Notification",
    "NurseFinancing",
    "Organisation",
    "OverviewGroup",
    "OverviewMonth",
    "Patient",
    "PlanEffort",
    "Relative",
    "SomaticScreening",
    "Staff",
    "StaffLogin",
    "StaffRole",
    "StatutoryPlan",
    "StatutoryPlanParticipant",
    "ThreadMessage",
    "TokenFailure",
]


def schema() -> MetaData:
    """The whole schema, every model mapped (relationships named by string resolved now, at
    start, rather than at the first query)."""
    configure_mappers()
    return Base.metadata
