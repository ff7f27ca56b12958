"""Throttling of failed API-token attempts per client address, shared by every web worker.

Only failures are counted and looked at: a caller with a valid token is never checked, so a
valid token keeps working from an address that is throttled, and a valid request runs no
statement of this module. The count lives in the database (one row per address and window), so
every gunicorn worker and every host of the web tier sees the same count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from bridge.domain.base import Base, UTCDateTime


class TokenFailure(Base):
    """Failed token attempts from one client address in the current window."""

    __tablename__ = "token_failure"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class ThrottleSettings:
    limit: int = 20  # failures an address may have in one window before it is answered 429
    window: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Verdict:
    throttled: bool
    retry_after: int  # seconds until the window ends (0 when not throttled)


def count_failure(
    session: Session, client: str, now: datetime, settings: ThrottleSettings
) -> Verdict:
    """Count one failed attempt from ``client`` in one statement and say whether it is over.

    A window starts with the first failure and lasts ``settings.window``; a failure after it
    starts a new one. The upsert is atomic, so concurrent workers never lose a count.
    """
    client = client[:64]
    table = TokenFailure.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(client=client, window_start=now, failures=1)
    current = table.c.window_start > now - settings.window
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.client],
        set_={
            "failures": case((current, table.c.failures + 1), else_=1),
            "window_start": case((current, table.c.window_start), else_=stmt.excluded.window_start),
        },
    ).returning(table.c.failures, table.c.window_start)
    failures, window_start = session.execute(stmt).one()
    if failures <= settings.limit:
        return Verdict(False, 0)
    remaining = (window_start + settings.window - now).total_seconds()
    return Verdict(True, max(1, math.ceil(remaining)))
