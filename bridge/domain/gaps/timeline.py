"""This area's source for the patient timeline: the patient's open gap flags.

A SELECT of the timeline's row shape (built once, run in the timeline's one UNION ALL) and a
function that turns a row into an item.
"""

from __future__ import annotations

from datetime import datetime

from bridge.domain.gaps.models import Flag, FlagStatus
from bridge.domain.timeline import (
    PATIENT_ID,
    TimelineItem,
    TimelineQuery,
    TimelineRow,
    timeline_select,
)

_LIVE_FLAGS = timeline_select(
    id=Flag.id, at=Flag.first_detected_at, text=Flag.message_da, code=Flag.status
).where(Flag.patient_id == PATIENT_ID, Flag.status != FlagStatus.RESOLVED)


def flag_items(row: TimelineRow, now: datetime) -> list[TimelineItem]:
    """Each live (not resolved) flag about the patient, when first detected."""
    return [TimelineItem("flag", row.at, row.text, row.code, "flag", row.id)]


#: This module's sources, for the composition (bridge/bootstrap.py) to register.
SOURCES: tuple[TimelineQuery, ...] = (TimelineQuery(_LIVE_FLAGS, flag_items),)
