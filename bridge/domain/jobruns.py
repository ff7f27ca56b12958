"""The record of scheduled job runs (listed at /api/v1/jobs/runs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.base import Base, BigId, UTCDateTime


class JobRun(Base):
    """One run of a scheduled job, with what it did or the error that stopped it."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_id", "job", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # ok | failed | skipped
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(1000))
