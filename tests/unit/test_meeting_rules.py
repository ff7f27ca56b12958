"""The pure rules of meetings: who receives minutes, and which transitions are allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.domain.errors import Conflict
from bridge.domain.meetings.distribution import (
    STATUTORY_BASIS,
    ConsentFact,
    OrgFact,
    ParticipantFact,
    distribution_list,
)
from bridge.domain.meetings.lifecycle import check_meeting_transition, check_minutes_transition
from bridge.domain.meetings.models import MeetingStatus, MinutesStatus, NetworkMeeting
from bridge.domain.patients.models import ConsentScope
from bridge.domain.registry.models import OrganisationKind as K

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
GP = OrgFact(1, K.GP_PRACTICE)
MUNI = OrgFact(2, K.MUNICIPALITY)
DEPT = OrgFact(3, K.HOSPITAL_DEPARTMENT)
HOUSING = OrgFact(4, K.SOCIAL_PSYCHIATRY_FACILITY)


def recipients(participants=(), gp=GP, consents=(), nurse=9):
    rows = distribution_list(
        participants=list(participants),
        gp=gp,
        residence_municipality=MUNI,
        nurse_staff_id=nurse,
        consents=list(consents),
        at=AT,
    )
    return {r.key: r for r in rows}


def consent(**kw):
    return ConsentFact(
        id=kw.pop("id", 7),
        scope=kw.pop("scope", ConsentScope.MINUTES),
        given_at=kw.pop("given_at", AT - timedelta(days=1)),
        withdrawn_at=kw.pop("withdrawn_at", None),
        **kw,
    )


def test_gp_is_a_statutory_recipient_even_when_absent():
    rows = recipients()
    assert rows["org:1"].legal_basis == STATUTORY_BASIS
    assert rows["org:1"].status == "pending"
    assert rows["org:1"].role == "gp"


def test_no_gp_row_when_the_patient_has_no_gp():
    assert set(recipients(gp=None)) == {"org:2", "nurse:9"}


def test_each_recipient_appears_once():
    rows = recipients([ParticipantFact(organisation=GP), ParticipantFact(organisation=MUNI)])
    assert sorted(rows) == ["nurse:9", "org:1", "org:2"]


def test_municipality_needs_consent_unless_it_took_part_as_health_care():
    assert recipients()["org:2"].status == "blocked"
    took_part = ParticipantFact(organisation=MUNI, treating_health_care=True)
    assert recipients([took_part])["org:2"].legal_basis == STATUTORY_BASIS
    as_social = ParticipantFact(organisation=MUNI)
    assert recipients([as_social])["org:2"].status == "blocked"


@pytest.mark.parametrize(
    ("the_consent", "status"),
    [
        (consent(kind=K.MUNICIPALITY), "sent"),
        (consent(organisation_id=2, scope=ConsentScope.ALL), "sent"),
        (consent(organisation_id=5), "blocked"),
        (consent(kind=K.MUNICIPALITY, scope=ConsentScope.DISCHARGE), "blocked"),
        (consent(kind=K.MUNICIPALITY, withdrawn_at=AT - timedelta(seconds=1)), "blocked"),
        (consent(kind=K.MUNICIPALITY, withdrawn_at=AT + timedelta(days=1)), "sent"),
        (consent(kind=K.MUNICIPALITY, given_at=AT + timedelta(seconds=1)), "blocked"),
    ],
)
def test_consent_gate_for_the_municipality(the_consent, status):
    row = recipients(consents=[the_consent])["org:2"]
    assert row.status == status
    assert (row.legal_basis == f"consent:{the_consent.id}") == (status == "sent")


def test_an_organisation_specific_consent_is_preferred_as_the_basis():
    rows = recipients(
        consents=[consent(id=1, kind=K.MUNICIPALITY), consent(id=2, organisation_id=2)]
    )
    assert rows["org:2"].legal_basis == "consent:2"


def test_hospital_is_statutory_housing_needs_consent():
    rows = recipients([ParticipantFact(organisation=DEPT), ParticipantFact(organisation=HOUSING)])
    assert rows["org:3"].legal_basis == STATUTORY_BASIS
    assert rows["org:4"].status == "blocked"


def test_relative_receives_only_when_allowed():
    rows = recipients(
        [ParticipantFact(relative_id=1, relative_may_receive=True), ParticipantFact(relative_id=2)]
    )
    assert rows["relative:1"].status == "pending"
    assert rows["relative:2"].status == "blocked"


def test_nurse_is_an_internal_recipient():
    row = recipients()["nurse:9"]
    assert (row.channel, row.status) == ("internal", "delivered")


def test_meeting_transitions():
    check_meeting_transition(MeetingStatus.REQUESTED, MeetingStatus.PLANNED)
    check_meeting_transition(MeetingStatus.PLANNED, MeetingStatus.CANCELLED)
    with pytest.raises(Conflict) as exc:
        check_meeting_transition(MeetingStatus.REQUESTED, MeetingStatus.HELD)
    assert exc.value.extra["allowed"] == ["cancelled", "planned"]
    with pytest.raises(Conflict) as exc:
        check_meeting_transition(MeetingStatus.HELD, MeetingStatus.CANCELLED)
    assert exc.value.extra["allowed"] == []


def test_minutes_transitions():
    check_minutes_transition(MinutesStatus.DRAFT, "final")
    check_minutes_transition(MinutesStatus.FINAL, "amended")
    with pytest.raises(Conflict) as exc:
        check_minutes_transition(MinutesStatus.FINAL, "draft")
    assert exc.value.extra["allowed"] == ["amended"]


def test_a_requested_meeting_is_late_after_its_hold_by_date_until_it_is_planned():
    hold_by = datetime(2026, 3, 6, 16, tzinfo=UTC)
    before, after = datetime(2026, 3, 6, 15, tzinfo=UTC), datetime(2026, 3, 7, tzinfo=UTC)
    requested = NetworkMeeting(status=MeetingStatus.REQUESTED, hold_by=hold_by)
    assert not requested.overdue(before)
    assert requested.overdue(after)
    assert not NetworkMeeting(status=MeetingStatus.PLANNED, hold_by=hold_by).overdue(after)
    assert not NetworkMeeting(status=MeetingStatus.REQUESTED, hold_by=None).overdue(after)
