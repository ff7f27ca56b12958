"""The allowed transitions of a meeting and of its minutes, as tables."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bridge.domain.errors import Conflict
from bridge.domain.meetings.models import MeetingStatus, MinutesStatus

# A held meeting's next step is its minutes, which have their own table below.
MEETING_TRANSITIONS: Mapping[MeetingStatus, frozenset[MeetingStatus]] = MappingProxyType(
    {
        MeetingStatus.REQUESTED: frozenset({MeetingStatus.PLANNED, MeetingStatus.CANCELLED}),
        MeetingStatus.PLANNED: frozenset({MeetingStatus.HELD, MeetingStatus.CANCELLED}),
        MeetingStatus.HELD: frozenset(),
        MeetingStatus.CANCELLED: frozenset(),
    }
)

# "amended" is not a stored state: amending a final version creates the next version as a draft.
AMENDED = "amended"
MINUTES_TRANSITIONS: Mapping[MinutesStatus, frozenset[str]] = MappingProxyType(
    {
        MinutesStatus.DRAFT: frozenset({MinutesStatus.FINAL.value}),
        MinutesStatus.FINAL: frozenset({AMENDED}),
    }
)


def allowed_meeting_transitions(current: MeetingStatus) -> list[str]:
    """The states a meeting in ``current`` may move to, sorted."""
    return sorted(s.value for s in MEETING_TRANSITIONS[current])


def check_meeting_transition(current: MeetingStatus, target: MeetingStatus) -> None:
    """Raise Conflict (with the allowed next states) unless current -> target is allowed."""
    if target not in MEETING_TRANSITIONS[current]:
        raise Conflict(
            f"a {current.value} meeting cannot become {target.value}",
            allowed=allowed_meeting_transitions(current),
        )


def check_minutes_transition(current: MinutesStatus, target: str) -> None:
    """Raise Conflict (with the allowed next states) unless the minutes may move to target."""
    allowed = MINUTES_TRANSITIONS[current]
    if target not in allowed:
        raise Conflict(
            f"{current.value} minutes cannot become {target}"
            + (" (amend them instead)" if current == MinutesStatus.FINAL else ""),
            allowed=sorted(allowed),
        )
