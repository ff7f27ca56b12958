"""Helpers for the gap-rule tests: run one rule, read its flags."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bridge.domain.base import utcnow
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag

MINUTE = timedelta(minutes=1)


def scan(session, rule: str, now: datetime | None = None) -> dict[str, int]:
    """Run one rule at ``now`` (the real clock by default) and commit, as the job does."""
    summary = run_gap_scan(session, now or utcnow(), rules=[rule])
    session.commit()
    return summary[rule]


def live(session, rule: str, subject_id: int | None = None) -> list[Flag]:
    """The rule's flags that are not resolved (about one subject, if given)."""
    stmt = select(Flag).where(Flag.rule == rule, Flag.status != "resolved")
    if subject_id is not None:
        stmt = stmt.where(Flag.subject_id == subject_id)
    return list(session.scalars(stmt.order_by(Flag.id)))


def resolved(session, rule: str, subject_id: int) -> list[Flag]:
    """The rule's resolved flags about one subject."""
    return list(
        session.scalars(
            select(Flag).where(
                Flag.rule == rule, Flag.subject_id == subject_id, Flag.status == "resolved"
            )
        )
    )
