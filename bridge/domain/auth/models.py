"""What the web login remembers about an account: failed attempts, lock, session generation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.base import Base, UTCDateTime


class StaffLogin(Base):
    """One row per staff member who has a password (the hash itself lives on ``Staff``).

    ``session_epoch`` is copied into every browser session at login; bumping it (logout, a new
    password) ends every session of the account, which a signed cookie alone cannot do.
    """

    __tablename__ = "staff_login"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
