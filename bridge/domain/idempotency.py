"""Stored outcomes of POSTs sent with an Idempotency-Key: a retry replays, never repeats."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bridge.domain.base import Base, UTCDateTime, utcnow
from bridge.domain.errors import Conflict, RuleViolation

RETENTION = timedelta(hours=24)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("staff_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    response_location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests 'the same request'."""
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def claim_key(session: Session, staff_id: int, key: str) -> None:
    """Hold the key for this transaction; a concurrent request with the same key gets 409.

    A transaction-scoped advisory lock is released by the commit that stores the outcome, so no
    'in progress' row has to be cleaned up after a crash. SQLite serialises writers anyway.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    lock_key = int.from_bytes(hashlib.sha256(f"{staff_id}:{key}".encode()).digest()[:8], "big")
    lock_key -= 1 << 63  # into bigint's signed range
    got = session.scalar(select(func.pg_try_advisory_xact_lock(lock_key)))
    if not got:
        raise Conflict("a request with this Idempotency-Key is still being processed")


def find_replay(
    session: Session, staff_id: int, key: str, request_fingerprint: str, now: datetime
) -> IdempotencyRecord | None:
    """The stored outcome for this key, if any; a different request under the same key is an
    error."""
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.staff_id == staff_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at > now - RETENTION,
        )
    )
    if record is not None and record.request_fingerprint != request_fingerprint:
        raise RuleViolation(
            "this Idempotency-Key was used with a different request", field="Idempotency-Key"
        )
    return record


def remember(
    session: Session,
    staff_id: int,
    key: str,
    request_fingerprint: str,
    status: int,
    body: str,
    location: str | None,
    now: datetime,
) -> None:
    """Store a response, replacing an expired record under the same key."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.staff_id == staff_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at <= now - RETENTION,
        )
    )
    session.add(
        IdempotencyRecord(
            staff_id=staff_id,
            key=key,
            request_fingerprint=request_fingerprint,
            response_status=status,
            response_body=body,
            response_location=location,
            created_at=now,
        )
    )
