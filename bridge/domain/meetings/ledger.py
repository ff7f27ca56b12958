"""Completing the distribution ledger: copies handed over by hand, and rows blocked for lack of
consent that become deliverable once the consent (or another legal basis) is recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.meetings import outbox, scoping
from bridge.domain.meetings.distribution import (
    ConsentFact,
    OrgFact,
    org_recipient,
)
from bridge.domain.meetings.models import (
    Channel,
    Distribution,
    DistributionStatus,
    HandoverMethod,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    RecipientKind,
)
from bridge.domain.patients.models import Consent, Relative
from bridge.domain.registry.models import Organisation, OrganisationKind


def _load(
    session: Session, p: Principal, distribution_id: int, action: str
) -> tuple[Distribution, MinutesVersion, NetworkMeeting]:
    """The row with its version and meeting, checked as the nurse's (404 for anybody else's)."""
    row = session.execute(
        select(Distribution, MinutesVersion, NetworkMeeting)
        .join(MinutesVersion, MinutesVersion.id == Distribution.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(Distribution.id == distribution_id)
    ).one_or_none()
    if row is None:
        raise scoping._not_found(session, p, "distribution", distribution_id, "distribution")
    dist, version, meeting = row
    scoping._scoped(session, p, meeting.patient_id, "distribution", action, distribution_id)
    return dist, version, meeting


# --- manual hand-over -------------------------------------------------------------------------


def record_handover(
    session: Session,
    p: Principal,
    distribution_id: int,
    data: dict[str, Any],
    now: datetime | None = None,
) -> Distribution:
    """The nurse handed a copy of the minutes to the patient or a relative: when, to whom, how.

    A copy put in the recipient's hand is received (acknowledged); one sent by post or otherwise
    is delivered.
    """
    now = now or utcnow()
    dist, version, _meeting = _load(session, p, distribution_id, AuditAction.UPDATE)
    if dist.channel != Channel.MANUAL:
        raise Conflict("only a copy the nurse hands over is recorded as handed over")
    if dist.status == DistributionStatus.BLOCKED:
        raise Conflict("the patient has not allowed this recipient the minutes")
    if dist.handed_over_at is not None:
        raise Conflict("the hand-over is recorded already")
    at = data.get("handed_over_at") or now
    if at > now:
        raise RuleViolation("a hand-over cannot be in the future", field="handed_over_at")
    if version.finalised_at is not None and at < version.finalised_at:
        raise RuleViolation("the minutes were not final yet at that time", field="handed_over_at")
    to = (data.get("handed_over_to") or "").strip()
    if not to:
        raise RuleViolation("say whom the copy was handed to", field="handed_over_to")
    method = HandoverMethod(data["method"])
    dist.handed_over_at = at
    dist.handed_over_to = to[:200]
    dist.handover_method = method.value
    dist.handed_over_by_id = p.staff_id
    dist.sent_at = dist.sent_at or at
    dist.delivered_at = dist.delivered_at or at
    if method == HandoverMethod.IN_PERSON:
        dist.status = DistributionStatus.ACKNOWLEDGED
        dist.acknowledged_at = at
    else:
        dist.status = DistributionStatus.DELIVERED
    session.flush()
    return dist


# --- releasing a blocked row ------------------------------------------------------------------

#: ``basis`` of a release: the consents as recorded now, or the nurse's statement that the
#: municipality took part as treating health-care staff (which needs no consent).
BASIS_CONSENT = "consent"
BASIS_TREATING = "treating_health_care"


def _in_force(session: Session, version: MinutesVersion) -> bool:
    latest = session.scalar(
        select(func.max(MinutesVersion.version_no)).where(
            MinutesVersion.meeting_id == version.meeting_id,
            MinutesVersion.status == MinutesStatus.FINAL,
        )
    )
    return latest == version.version_no


def _consents(session: Session, patient_id: int) -> list[ConsentFact]:
    return [
        ConsentFact(
            id=c.id,
            scope=c.scope,
            given_at=c.given_at,
            withdrawn_at=c.withdrawn_at,
            organisation_id=c.recipient_organisation_id,
            kind=c.recipient_kind,
        )
        for c in session.scalars(select(Consent).where(Consent.patient_id == patient_id))
    ]


def _reassess(
    session: Session,
    dist: Distribution,
    meeting: NetworkMeeting,
    consents: list[ConsentFact],
    treating: bool,
    now: datetime,
) -> tuple[DistributionStatus, str | None]:
    """What the rules say for the row today: (status, legal basis); blocked has no basis."""
    if dist.recipient_kind == RecipientKind.RELATIVE:
        may = session.scalar(
            select(Relative.may_receive_information).where(
                Relative.id == dist.recipient_relative_id
            )
        )
        if may:
            return DistributionStatus.PENDING, f"relative-consent:{dist.recipient_relative_id}"
        return DistributionStatus.BLOCKED, None
    kind = session.scalar(
        select(Organisation.kind).where(Organisation.id == dist.recipient_organisation_id)
    )
    if kind is None:
        raise NotFound("no such organisation")
    r = org_recipient(
        OrgFact(int(dist.recipient_organisation_id or 0), kind),
        dist.recipient_role,
        treating,
        consents,
        now,
    )
    return r.status, r.legal_basis


def _apply(
    session: Session,
    dist: Distribution,
    version: MinutesVersion,
    meeting: NetworkMeeting,
    status: DistributionStatus,
    basis: str,
    now: datetime,
) -> None:
    dist.status = status
    dist.legal_basis = basis
    dist.blocked_reason = None
    if status == DistributionStatus.SENT:
        dist.sent_at = now
    session.flush()
    # A MedCom recipient gets its message now, as at finalising (same transaction).
    outbox.notify_distributions(session, meeting, version, [dist])


def release_distribution(
    session: Session,
    p: Principal,
    distribution_id: int,
    basis: str = BASIS_CONSENT,
    now: datetime | None = None,
) -> Distribution:
    """Make a blocked row of the minutes in force deliverable, on the legal basis recorded now.

    ``basis`` ``consent`` rereads the patient's consents (and a relative's permission);
    ``treating_health_care`` records that a participating municipality took part as treating
    health-care staff. Refused (409) while there is still no basis, or for superseded minutes.
    """
    now = now or utcnow()
    dist, version, meeting = _load(session, p, distribution_id, AuditAction.UPDATE)
    if dist.status != DistributionStatus.BLOCKED:
        raise Conflict("the distribution is not blocked")
    if not _in_force(session, version):
        raise Conflict("these minutes were amended; the version in force is distributed")
    treating = False
    if basis == BASIS_TREATING:
        participant = next(
            (
                pt
                for pt in scoping._load_meeting(session, p, meeting.id).participants
                if pt.organisation_id is not None
                and pt.organisation_id == dist.recipient_organisation_id
            ),
            None,
        )
        kind = session.scalar(
            select(Organisation.kind).where(Organisation.id == dist.recipient_organisation_id)
        )
        if participant is None or kind != OrganisationKind.MUNICIPALITY:
            raise RuleViolation(
                "only a municipality that took part can have taken part as treating staff",
                field="basis",
            )
        participant.treating_health_care = True
        treating = True
    status, legal = _reassess(
        session, dist, meeting, _consents(session, meeting.patient_id), treating, now
    )
    if status == DistributionStatus.BLOCKED or legal is None:
        raise Conflict(
            "there is still no legal basis: record the patient's consent first",
            reason=dist.blocked_reason,
        )
    _apply(session, dist, version, meeting, status, legal, now)
    return dist


def release_after_consent(session: Session, patient_id: int, now: datetime) -> list[Distribution]:
    """After a consent is recorded: every blocked organisation row of the patient's minutes in
    force that it now covers becomes deliverable. Rows it does not cover stay blocked."""
    newest = (
        select(MinutesVersion.meeting_id, func.max(MinutesVersion.version_no).label("no"))
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(
            NetworkMeeting.patient_id == patient_id,
            MinutesVersion.status == MinutesStatus.FINAL,
        )
        .group_by(MinutesVersion.meeting_id)
        .subquery()
    )
    rows = session.execute(
        select(Distribution, MinutesVersion, NetworkMeeting)
        .join(MinutesVersion, MinutesVersion.id == Distribution.minutes_version_id)
        .join(
            newest,
            (newest.c.meeting_id == MinutesVersion.meeting_id)
            & (newest.c.no == MinutesVersion.version_no),
        )
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .where(
            Distribution.status == DistributionStatus.BLOCKED,
            Distribution.recipient_kind == RecipientKind.ORGANISATION,
        )
    ).all()
    if not rows:
        return []
    consents = _consents(session, patient_id)
    released = []
    for dist, version, meeting in rows:
        status, legal = _reassess(session, dist, meeting, consents, False, now)
        if status != DistributionStatus.BLOCKED and legal is not None:
            _apply(session, dist, version, meeting, status, legal, now)
            released.append(dist)
    return released
