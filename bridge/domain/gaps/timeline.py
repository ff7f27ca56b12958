"""This area's source for the patient timeline: the patient's open gap flags."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.gaps.models import Flag, FlagStatus
from bridge.domain.timeline import TimelineItem, register_timeline_source


@register_timeline_source
def flag_items(session: Session, patient_id: int) -> list[TimelineItem]:
    """Each live (not resolved) flag about the patient, when first detected (one query)."""
    rows = session.execute(
        select(Flag.id, Flag.first_detected_at, Flag.message_da, Flag.status).where(
            Flag.patient_id == patient_id, Flag.status != FlagStatus.RESOLVED
        )
    )
    return [
        TimelineItem("flag", at, message, status.value, "flag", fid)
        for fid, at, message, status in rows
    ]
