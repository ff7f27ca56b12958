"""The gap scan as a scheduled job (default every 5 minutes: BRIDGE_GAP_SCAN_SECONDS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge.domain.gaps.engine import GapConfig, run_gap_scan
from bridge.domain.meetings.outbox import block_distributions_to_closed_recipients


def gap_scan(session: Session, now: datetime, *, config: GapConfig) -> dict[str, Any]:
    """Block rows waiting for a recipient that has closed, then apply every gap rule once."""
    blocked = block_distributions_to_closed_recipients(session, now)
    return {**run_gap_scan(session, now, config), "blocked_for_closed_recipients": blocked}
