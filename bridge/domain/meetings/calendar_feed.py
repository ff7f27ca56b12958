"""The nurse's network meetings for her own calendar: a personal feed at a secret URL.

The URL carries a random secret (256 bits); only its SHA-256 is stored, like an API token. The
nurse creates, rotates and revokes it herself. What a calendar gets is deliberately thin: the
patient's initials and a case reference, never the CPR number nor a diagnosis, because a
calendar is synchronised to phones and shared mailboxes that Bridge does not control.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bridge.domain import audit
from bridge.domain.access import Principal, load_principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import Base, UTCDateTime, utcnow
from bridge.domain.errors import Forbidden
from bridge.domain.meetings.models import MeetingParticipant, NetworkMeeting, ParticipantKind
from bridge.domain.meetings.scoping import _load_meeting
from bridge.domain.patients.models import Enrollment, Patient
from bridge.domain.registry.models import Organisation, Role, Staff
from bridge.domain.registry.services import hash_token

# How far back the feed reaches: a calendar app keeps what it already has, and a longer past
# only makes every poll heavier.
FEED_PAST = timedelta(days=90)


class CalendarFeed(Base):
    """A nurse's feed secret (its hash). At most one per nurse; revoking deletes the row."""

    __tablename__ = "calendar_feed"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class CalendarEntry:
    """One meeting as a calendar shows it; nothing in it identifies the patient beyond initials."""

    meeting_id: int
    initials: str
    status: str
    start: datetime
    end: datetime | None
    place: str | None
    video_link: str | None
    organisations: tuple[str, ...]
    updated_at: datetime


def _require_nurse(p: Principal) -> None:
    if not p.has(Role.NURSE):
        raise Forbidden("only a bridge nurse has a meeting calendar")


def feed_created_at(session: Session, p: Principal) -> datetime | None:
    """When the nurse's current feed URL was made, or None when she has none."""
    return session.scalar(
        select(CalendarFeed.created_at).where(CalendarFeed.staff_id == p.staff_id)
    )


def issue_feed(session: Session, p: Principal, now: datetime) -> str:
    """A new secret for the nurse's feed; any earlier URL stops working. Shown once."""
    _require_nurse(p)
    secret = secrets.token_urlsafe(32)
    row = session.get(CalendarFeed, p.staff_id)
    if row is None:
        session.add(
            CalendarFeed(staff_id=p.staff_id, token_hash=hash_token(secret), created_at=now)
        )
    else:
        row.token_hash = hash_token(secret)
        row.created_at = now
    session.flush()
    return secret


def revoke_feed(session: Session, p: Principal) -> None:
    """The nurse's feed URL stops working (her calendar keeps what it already fetched)."""
    session.execute(delete(CalendarFeed).where(CalendarFeed.staff_id == p.staff_id))


def feed_owner(session: Session, secret: str) -> Principal | None:
    """The active nurse whose feed this secret opens, or None (unknown, revoked, disabled)."""
    if not secret or len(secret) > 100:
        return None
    staff = session.scalar(
        select(Staff)
        .join(CalendarFeed, CalendarFeed.staff_id == Staff.id)
        .where(CalendarFeed.token_hash == hash_token(secret), Staff.active)
    )
    if staff is None:
        return None
    p = load_principal(session, staff)
    return p if p.has(Role.NURSE) else None


def initials(name: str) -> str:
    """ "Hanne Marie Andersen" -> "H.M.A." """
    return "".join(f"{part[0].upper()}." for part in name.split() if part)


def _organisations(session: Session, meeting_ids: list[int]) -> dict[int, tuple[str, ...]]:
    # One query for every meeting's participating organisations (no query per meeting).
    names: dict[int, list[str]] = defaultdict(list)
    if not meeting_ids:
        return {}
    rows = session.execute(
        select(MeetingParticipant.meeting_id, Organisation.name)
        .join(Organisation, Organisation.id == MeetingParticipant.organisation_id)
        .where(
            MeetingParticipant.meeting_id.in_(meeting_ids),
            MeetingParticipant.kind == ParticipantKind.ORGANISATION,
        )
        .order_by(MeetingParticipant.meeting_id, MeetingParticipant.id)
    )
    for meeting_id, name in rows:
        if name not in names[meeting_id]:
            names[meeting_id].append(name)
    return {k: tuple(v) for k, v in names.items()}


_ENTRY_COLUMNS = (
    NetworkMeeting.id,
    Patient.name,
    NetworkMeeting.status,
    NetworkMeeting.scheduled_start,
    NetworkMeeting.scheduled_end,
    NetworkMeeting.place,
    NetworkMeeting.video_link,
    NetworkMeeting.updated_at,
)


def _entries(session: Session, rows: Iterable[Any]) -> list[CalendarEntry]:
    rows = list(rows)
    orgs = _organisations(session, [row[0] for row in rows])
    return [
        CalendarEntry(
            meeting_id=mid,
            initials=initials(name),
            status=str(status),
            start=start,
            end=end,
            place=place,
            video_link=video,
            organisations=orgs.get(mid, ()),
            updated_at=updated,
        )
        for mid, name, status, start, end, place, video, updated in rows
    ]


def feed_entries(session: Session, p: Principal, now: datetime) -> list[CalendarEntry]:
    """The scheduled meetings of the nurse's own caseload as it is now (a patient handed over
    leaves her calendar at the next poll). Two queries; one audit note per patient listed."""
    _require_nurse(p)
    rows = session.execute(
        select(*_ENTRY_COLUMNS, Patient.id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .join(Enrollment, Enrollment.patient_id == Patient.id)
        .where(
            Enrollment.nurse_id == p.staff_id,
            Enrollment.end_date.is_(None),
            NetworkMeeting.scheduled_start.is_not(None),
            NetworkMeeting.scheduled_start >= now - FEED_PAST,
        )
        .order_by(NetworkMeeting.scheduled_start, NetworkMeeting.id)
    ).all()
    for patient_id in dict.fromkeys(row[-1] for row in rows):
        audit.record(session, p, AuditAction.LISTED, "calendar_feed", p.staff_id, patient_id)
    return _entries(session, (row[:-1] for row in rows))


def meeting_entry(session: Session, p: Principal, meeting_id: int) -> CalendarEntry | None:
    """One meeting as a calendar entry (None while it has no time); 404 like any meeting read."""
    meeting = _load_meeting(session, p, meeting_id, participants=False)
    if meeting.scheduled_start is None:
        return None
    rows = session.execute(
        select(*_ENTRY_COLUMNS)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .where(NetworkMeeting.id == meeting.id)
    ).all()
    return _entries(session, rows)[0]
