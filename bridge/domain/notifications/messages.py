"""What a MedCom message says, as plain data: the domain fills these in, the FHIR codec
(``bridge.adapters``) writes and reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# --- input and output types -------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationRef:
    """An organisation as MedCom addresses it: name, SOR code and GLN (EAN location number)."""

    name: str
    sor_code: str | None
    gln: str | None


@dataclass(frozen=True)
class PatientRef:
    """The citizen the message is about: CPR number (10 digits) and full name."""

    cpr: str
    name: str


@dataclass(frozen=True)
class CareCommunicationInput:
    """Everything needed to build one CareCommunication message (stable across resends)."""

    message_header_id: str
    category: str
    topic: str
    text: str
    sender: OrganisationRef
    receiver: OrganisationRef
    patient: PatientRef
    sent_at: datetime
    author_name: str
    link: str | None
    author_role: str = "sygeplejerske"
    #: MedCom's authorContact (1..1): her own line or her organisation's.
    author_phone: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A document sent inside the message (base64 in ``payload.contentAttachment.data``)."""

    title: str
    content_type: str
    data: bytes
    created: datetime


@dataclass(frozen=True)
class Acknowledgement:
    """What a MedCom Acknowledgement says about the message it answers."""

    acknowledged_message_header_id: str
    code: str
    detail: str | None
