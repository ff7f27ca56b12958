"""Plain data read from an inbound message; the FHIR codec (``bridge.medcom``) fills it in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class OrgIdent:
    """An organisation as a message names it."""

    name: str | None
    sor_code: str | None
    gln: str | None


@dataclass(frozen=True)
class Envelope:
    """What every MedCom message carries: its ids, its kind, who sent it and to whom."""

    bundle_id: str
    message_header_id: str
    event: str
    sender: OrgIdent
    receiver: OrgIdent | None


@dataclass(frozen=True)
class StayEvent:
    """A HospitalNotification: what happened to which stay of which person."""

    cpr: str | None  # None: a replacement CPR
    activity: str
    episode_identifier: str
    emergency: bool
    status: str
    start: datetime
    end: datetime | None = None
    leave_start: datetime | None = None
    leave_end: datetime | None = None
    deceased: bool = False
    # The earlier message a cancellation (role "removal") names.
    cancels_header_id: str | None = None


@dataclass(frozen=True)
class Attachment:
    content_type: str | None
    title: str | None
    url: str | None
    data: bytes | None


@dataclass(frozen=True)
class Payload:
    """One message of a CareCommunication thread (a payload with its author and time)."""

    identifier: str
    sent_at: datetime
    author_name: str | None
    author_contact: str | None
    text: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True)
class CareMessage:
    """A CareCommunication: the thread it belongs to and every payload it carries."""

    cpr: str | None  # None: a replacement CPR
    thread_identifier: str
    category: str
    topic: str | None
    activity: str
    preceding_header_id: str | None
    payloads: list[Payload] = field(default_factory=list)


@dataclass(frozen=True)
class AckIssue:
    """Why a message is refused: the ack code, a MedCom error code and a text."""

    code: str  # "fatal-error" or "transient-error"
    issue_type: str  # OperationOutcome.issue.code (structure, required, code-invalid, ...)
    error_code: str | None
    text: str
