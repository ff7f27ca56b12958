"""The overview's rollup as a scheduled job (default every 15 minutes: BRIDGE_OVERVIEW_SECONDS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge.domain.overview_rollup import refresh_overview


def overview_rollup(session: Session, now: datetime) -> dict[str, Any]:
    """Count every region's and council's recent months again."""
    return dict(refresh_overview(session, now))
