"""Who receives a final minutes version, on what legal basis, and by which channel.

A pure function of facts gathered by the service, so the rule can be read and tested alone.

Legal basis. Sharing between the patient's *treating health-care* professionals needs no consent
(sundhedsloven §41-43: hospital departments, GP practices, practising specialists, the region
and the bridge nurse who is herself part of the treatment). Everyone else gets the minutes only
with the patient's active consent of scope ``minutes`` or ``all`` that names the recipient
organisation or its kind; without it the recipient is recorded as ``blocked`` with the reason.

The residence municipality. Municipalities run health care too (home nursing, municipal
psychiatric nursing), and the health act lets treating municipal health staff share. But the
minutes mostly go to the municipality's social services (housing support, social psychiatry),
which the issue puts outside the treating circle, and Bridge cannot tell which municipal unit
will read a pulled summary. So: a municipality needs consent, UNLESS it took part in the
meeting as a treating health-care participant (``treating_health_care`` on the participant),
in which case it receives on the statutory basis.

Relatives. Bridge's consent records name organisations or organisation kinds, not persons; the
patient's permission to inform a relative is the relative's ``may_receive_information``, so
that is the consent that gates a relative (basis ``relative-consent:<relative id>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bridge.domain.meetings.models import (
    Channel,
    DistributionStatus,
    RecipientKind,
    RecipientRole,
)
from bridge.domain.patients.models import ConsentScope
from bridge.domain.registry.models import OrganisationKind

STATUTORY_BASIS = "statutory:treating-health-professionals"

TREATING_HEALTH_CARE_KINDS = frozenset(
    {
        OrganisationKind.REGION,
        OrganisationKind.HOSPITAL,
        OrganisationKind.HOSPITAL_DEPARTMENT,
        OrganisationKind.GP_PRACTICE,
        OrganisationKind.SPECIALIST_PRACTICE,
    }
)

_SCOPES_COVERING_MINUTES = frozenset({ConsentScope.MINUTES, ConsentScope.ALL})


# The start of every reason for a row blocked because its recipient has closed; the consent
# gap rule tells the two kinds of blocked row apart by it.
CLOSED_REASON = "the recipient organisation has closed"


@dataclass(frozen=True)
class OrgFact:
    id: int
    kind: OrganisationKind
    # Closed on the day of finalising: nothing may be sent to a dead address.
    closed: bool = False
    successor_id: int | None = None


@dataclass(frozen=True)
class ParticipantFact:
    """An organisation or relative that took part (the patient is not a recipient here)."""

    organisation: OrgFact | None = None
    relative_id: int | None = None
    relative_may_receive: bool = False
    treating_health_care: bool = False


@dataclass(frozen=True)
class ConsentFact:
    id: int
    scope: ConsentScope
    given_at: datetime
    withdrawn_at: datetime | None
    organisation_id: int | None = None
    kind: OrganisationKind | None = None

    def active_at(self, at: datetime) -> bool:
        return self.given_at <= at and (self.withdrawn_at is None or self.withdrawn_at > at)


@dataclass(frozen=True)
class Recipient:
    """One row of the distribution list."""

    key: str
    kind: RecipientKind
    role: RecipientRole
    channel: Channel
    status: DistributionStatus
    legal_basis: str | None
    blocked_reason: str | None
    organisation_id: int | None = None
    relative_id: int | None = None
    staff_id: int | None = None


def _consent_for(org: OrgFact, consents: list[ConsentFact], at: datetime) -> ConsentFact | None:
    usable = sorted(
        (c for c in consents if c.scope in _SCOPES_COVERING_MINUTES and c.active_at(at)),
        key=lambda c: c.id,
    )
    # A consent naming the organisation itself is the more specific basis; prefer it.
    for c in usable:
        if c.organisation_id == org.id:
            return c
    for c in usable:
        if c.kind == org.kind:
            return c
    return None


def org_recipient(
    org: OrgFact,
    role: RecipientRole,
    treating_participant: bool,
    consents: list[ConsentFact],
    at: datetime,
) -> Recipient:
    channel = Channel.PULL if org.kind == OrganisationKind.MUNICIPALITY else Channel.MEDCOM
    # Pulled minutes are available at once ("sent"); MedCom ones wait for the outbox.
    ready = DistributionStatus.SENT if channel == Channel.PULL else DistributionStatus.PENDING
    statutory = org.kind in TREATING_HEALTH_CARE_KINDS or (
        org.kind == OrganisationKind.MUNICIPALITY and treating_participant
    )
    common = partial(
        Recipient,
        key=f"org:{org.id}",
        kind=RecipientKind.ORGANISATION,
        role=role,
        channel=channel,
        organisation_id=org.id,
    )
    if org.closed:
        successor = (
            f"; its successor is organisation {org.successor_id}" if org.successor_id else ""
        )
        return common(
            status=DistributionStatus.BLOCKED,
            legal_basis=None,
            blocked_reason=CLOSED_REASON + successor,
        )
    if statutory:
        return common(status=ready, legal_basis=STATUTORY_BASIS, blocked_reason=None)
    consent = _consent_for(org, consents, at)
    if consent is not None:
        return common(status=ready, legal_basis=f"consent:{consent.id}", blocked_reason=None)
    return common(
        status=DistributionStatus.BLOCKED,
        legal_basis=None,
        blocked_reason=(
            f"no active consent of scope minutes or all for this {org.kind.value.replace('_', ' ')}"
        ),
    )


def distribution_list(
    *,
    participants: list[ParticipantFact],
    gp: OrgFact | None,
    residence_municipality: OrgFact,
    nurse_staff_id: int | None,
    consents: list[ConsentFact],
    at: datetime,
) -> list[Recipient]:
    """The recipients of a minutes version finalised at ``at``; one row per recipient.

    The GP practice is always on the list, whether or not it took part; a patient without a
    listed GP gets no GP row (the gap jobs flag that).
    """
    # Roles by priority: a GP that also took part is recorded as the GP.
    orgs: dict[int, tuple[OrgFact, RecipientRole]] = {}
    if gp is not None:
        orgs[gp.id] = (gp, RecipientRole.GP)
    treating = {
        p.organisation.id
        for p in participants
        if p.organisation is not None and p.treating_health_care
    }
    orgs.setdefault(
        residence_municipality.id, (residence_municipality, RecipientRole.RESIDENCE_MUNICIPALITY)
    )
    for p in participants:
        if p.organisation is not None:
            orgs.setdefault(p.organisation.id, (p.organisation, RecipientRole.PARTICIPANT))
    out = [
        org_recipient(org, role, org_id in treating, consents, at)
        for org_id, (org, role) in orgs.items()
    ]
    seen_relatives: set[int] = set()
    for p in participants:
        if p.relative_id is None or p.relative_id in seen_relatives:
            continue
        seen_relatives.add(p.relative_id)
        common = partial(
            Recipient,
            key=f"relative:{p.relative_id}",
            kind=RecipientKind.RELATIVE,
            role=RecipientRole.PARTICIPANT,
            channel=Channel.MANUAL,
            relative_id=p.relative_id,
        )
        if p.relative_may_receive:
            out.append(
                common(
                    status=DistributionStatus.PENDING,
                    legal_basis=f"relative-consent:{p.relative_id}",
                    blocked_reason=None,
                )
            )
        else:
            out.append(
                common(
                    status=DistributionStatus.BLOCKED,
                    legal_basis=None,
                    blocked_reason="the patient has not allowed informing this relative",
                )
            )
    if nurse_staff_id is not None:
        # She wrote them: recorded for completeness of the list, delivered by being in Bridge.
        out.append(
            Recipient(
                key=f"nurse:{nurse_staff_id}",
                kind=RecipientKind.NURSE,
                role=RecipientRole.NURSE,
                channel=Channel.INTERNAL,
                status=DistributionStatus.DELIVERED,
                legal_basis=STATUTORY_BASIS,
                blocked_reason=None,
                staff_id=nurse_staff_id,
            )
        )
    return out
