"""The minutes as a document: everything a printed copy shows, gathered as plain data.

Rendering (HTML, PDF) is an adapter's job (``bridge.documents``); this module only reads. One
batch of versions costs the same few queries whatever its size, so the dispatcher can attach
the minutes to a whole batch of messages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from bridge.domain.access import Principal
from bridge.domain.identifiers import mask_cpr
from bridge.domain.meetings import minutes as minutes_service
from bridge.domain.meetings.distribution import STATUTORY_BASIS
from bridge.domain.meetings.models import (
    ActionItem,
    Distribution,
    MeetingParticipant,
    MinutesVersion,
    NetworkMeeting,
    ParticipantKind,
)
from bridge.domain.patients.models import Patient, Relative
from bridge.domain.registry.models import Organisation, Staff


@dataclass(frozen=True)
class Participant:
    name: str
    role: str | None
    attended: bool | None


@dataclass(frozen=True)
class ActionLine:
    description: str
    owner: str
    due_date: date | None
    status: str


@dataclass(frozen=True)
class Disclosure:
    """Who received this version, and the legal basis for passing it on."""

    distribution_id: int
    recipient: str
    legal_basis: str


@dataclass(frozen=True)
class MinutesDocument:
    minutes_version_id: int
    meeting_id: int
    version_no: int
    status: str
    patient_name: str
    patient_cpr: str  # full digits; the caller decides whether to mask
    held_at: datetime | None
    place: str | None
    agenda: str | None
    organiser: str | None
    participants: list[Participant]
    summary: str
    decisions: str
    amendment_reason: str | None
    action_items: list[ActionLine]
    finalised_at: datetime | None
    finalised_by: str | None
    disclosures: list[Disclosure]

    def masked(self) -> MinutesDocument:
        """The same document with the CPR number shown as date part only."""
        return replace(self, patient_cpr=mask_cpr(self.patient_cpr))

    def for_recipient(self, distribution_id: int) -> MinutesDocument:
        """The copy one recipient receives: only its own line of the disclosures."""
        mine = [d for d in self.disclosures if d.distribution_id == distribution_id]
        return replace(self, disclosures=mine)


def legal_basis_text(basis: str | None) -> str:
    """The legal basis of a disclosure in Danish, as the printed minutes state it."""
    if basis == STATUTORY_BASIS:
        return (
            "Videregivet til behandlende sundhedspersoner uden samtykke "
            "(sundhedsloven §§ 41-43, aktuel patientbehandling)"
        )
    if basis and basis.startswith("consent:"):
        return f"Videregivet med borgerens samtykke (samtykke nr. {basis.split(':', 1)[1]})"
    if basis and basis.startswith("relative-consent:"):
        return "Videregivet til pårørende med borgerens tilladelse"
    return "Ikke videregivet"


def load_minutes_documents(
    session: Session, version_ids: Iterable[int]
) -> dict[int, MinutesDocument]:
    """The documents of these minutes versions by id, in five queries for any number."""
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    organiser, finaliser = aliased(Staff), aliased(Staff)
    heads = session.execute(
        select(MinutesVersion, NetworkMeeting, Patient, organiser.name, finaliser.name)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .outerjoin(organiser, organiser.id == NetworkMeeting.organiser_id)
        .outerjoin(finaliser, finaliser.id == MinutesVersion.finalised_by_id)
        .where(MinutesVersion.id.in_(ids))
    ).all()
    meeting_ids = {meeting.id for _, meeting, *_ in heads}
    participants: dict[int, list[Participant]] = defaultdict(list)
    for part, org_name, relative_name, patient_name in session.execute(
        select(MeetingParticipant, Organisation.name, Relative.name, Patient.name)
        .join(NetworkMeeting, NetworkMeeting.id == MeetingParticipant.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .outerjoin(Organisation, Organisation.id == MeetingParticipant.organisation_id)
        .outerjoin(Relative, Relative.id == MeetingParticipant.relative_id)
        .where(MeetingParticipant.meeting_id.in_(meeting_ids))
        .order_by(MeetingParticipant.id)
    ):
        if part.kind == ParticipantKind.PATIENT:
            name = f"{patient_name} (borger)"
        elif part.kind == ParticipantKind.RELATIVE:
            name = f"{relative_name} (pårørende)"
        else:
            name = ", ".join(n for n in (part.person_name, org_name) if n)
        participants[part.meeting_id].append(Participant(name, part.role, part.attended))
    actions: dict[int, list[ActionLine]] = defaultdict(list)
    for item, org_name in session.execute(
        select(ActionItem, Organisation.name)
        .outerjoin(Organisation, Organisation.id == ActionItem.responsible_organisation_id)
        .where(ActionItem.minutes_version_id.in_(ids))
        .order_by(ActionItem.id)
    ):
        owner = ", ".join(n for n in (item.person, org_name) if n) or "Ikke angivet"
        actions[item.minutes_version_id].append(
            ActionLine(item.description, owner, item.due_date, item.status.value)
        )
    disclosures: dict[int, list[Disclosure]] = defaultdict(list)
    for d, org_name, relative_name, staff_name in session.execute(
        select(Distribution, Organisation.name, Relative.name, Staff.name)
        .outerjoin(Organisation, Organisation.id == Distribution.recipient_organisation_id)
        .outerjoin(Relative, Relative.id == Distribution.recipient_relative_id)
        .outerjoin(Staff, Staff.id == Distribution.recipient_staff_id)
        .where(Distribution.minutes_version_id.in_(ids))
        .order_by(Distribution.id)
    ):
        recipient = org_name or relative_name or staff_name or d.recipient_key
        disclosures[d.minutes_version_id].append(
            Disclosure(d.id, recipient, legal_basis_text(d.legal_basis))
        )
    return {
        version.id: MinutesDocument(
            minutes_version_id=version.id,
            meeting_id=meeting.id,
            version_no=version.version_no,
            status=version.status.value,
            patient_name=patient.name,
            patient_cpr=patient.cpr,
            held_at=meeting.held_at or meeting.scheduled_start,
            place=meeting.place,
            agenda=meeting.agenda,
            organiser=organiser_name,
            participants=participants[meeting.id],
            summary=version.summary,
            decisions=version.decisions,
            amendment_reason=version.amendment_reason,
            action_items=actions[version.id],
            finalised_at=version.finalised_at,
            finalised_by=finaliser_name,
            disclosures=disclosures[version.id],
        )
        for version, meeting, patient, organiser_name, finaliser_name in heads
    }


def minutes_document(
    session: Session, p: Principal, meeting_id: int, version_no: int
) -> MinutesDocument:
    """One version as a document, for a reader who may read the minutes (checked, audited)."""
    version = minutes_service.get_minutes(session, p, meeting_id, version_no)
    return load_minutes_documents(session, [version.id])[version.id].masked()
