"""The audit log: who read or changed which patient's data, and with what outcome."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import BigInteger, Index, String, Table, Text, insert, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from bridge.domain.base import Base, BigId, UTCDateTime, utcnow

if TYPE_CHECKING:
    from bridge.domain.access import Principal


class AuditOutcome(enum.StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    REJECTED = "rejected"


class AuditEvent(Base):
    """One access. No foreign keys: the log outlives what it talks about, and records attempts
    on ids that never existed.

    A request that reads several things of one patient (the patient page: the patient, the
    stays, the relatives, the access log, ...) is one event of that patient; ``shown`` lists
    what it read, one ``"<action> <resource type> <id>"`` per thing.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_patient_id_id", "patient_id", "id"),
        Index("ix_audit_event_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    organisation_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(20))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(20))
    # The relation through which the caller sees patients ("treatment" for a hospital
    # department's stay, "caseload" for a nurse ...), so the patient's log tells them apart.
    basis: Mapped[str | None] = mapped_column(String(60))
    request_id: Mapped[str | None] = mapped_column(String(64))
    shown: Mapped[str | None] = mapped_column(Text)  # a JSON list of strings

    @property
    def shown_items(self) -> list[str]:
        return json.loads(self.shown) if self.shown else []


class AuditAction(enum.StrEnum):
    READ = "read"
    LIST = "list"
    # The patient appeared as one row of a working list of many patients (caseload, worklist,
    # meetings, follow-ups, stays): kept, but left out of the access log unless asked for, so
    # the nurse's own list views do not bury who opened the record.
    LISTED = "listed"
    SEARCH = "search"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    resource_type: str,
    resource_id: object | None,
    patient_id: int | None,
    outcome: str = AuditOutcome.OK,
    basis: str | None = None,
) -> None:
    """Note an access on the session; whoever owns the transaction writes the notes.

    They are kept apart from the unit of work so that a refused or failed request, whose changes
    are rolled back, still leaves its trace in the log.
    """
    pending_audit(session).append(
        {
            "occurred_at": utcnow(),
            "staff_id": getattr(principal, "staff_id", None),
            "organisation_id": getattr(principal, "organisation_id", None),
            "action": str(action),
            "resource_type": resource_type,
            "resource_id": None if resource_id is None else str(resource_id),
            "patient_id": patient_id,
            "outcome": str(outcome),
            "basis": basis or getattr(principal, "basis", None),
        }
    )


def pending_audit(session: Session) -> list[dict[str, Any]]:
    """The notes not yet written for this session."""
    return session.info.setdefault("bridge.audit", [])


def mark_last(session: Session, outcome: str) -> None:
    """Change the outcome of the access noted last: a check after the read refused it."""
    pending = pending_audit(session)
    if pending:
        pending[-1]["outcome"] = str(outcome)


# On PostgreSQL the notes go in as one JSON document that the server expands into rows: a list
# page notes fifty reads, and binding them value by value cost more than the insert itself. (One
# row of arrays was the first form; psycopg 3 builds array parameters in Python, and one note took
# 0.31 ms of a worker's CPU that way.) Other databases (the SQLite demo) take the plain
# multi-row form.
_AUDIT_COLUMNS = {
    "occurred_at": "timestamptz",
    "staff_id": "bigint",
    "organisation_id": "bigint",
    "action": "varchar",
    "resource_type": "varchar",
    "resource_id": "varchar",
    "patient_id": "bigint",
    "outcome": "varchar",
    "basis": "varchar",
    "request_id": "varchar",
    "shown": "text",
}
_AUDIT_TABLE = cast(Table, AuditEvent.__table__)
_RECORDSET_INSERT = text(
    f"INSERT INTO {AuditEvent.__tablename__} ({', '.join(_AUDIT_COLUMNS)}) "
    f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM json_to_recordset(CAST(:notes AS json)) AS note("
    + ", ".join(f"{name} {kind}" for name, kind in _AUDIT_COLUMNS.items())
    + ")"
)


# How much of the record a collapsed event shows: the strongest action names the event, and a
# read of the full CPR number (revealed on purpose) names it above everything else.
_ACCESS_RANK = {
    AuditAction.READ: 0,
    AuditAction.SEARCH: 1,
    AuditAction.LIST: 2,
    AuditAction.LISTED: 3,
}
_REVEALING = frozenset({"patient_cpr"})


def _rank(note: dict) -> tuple[int, int]:
    return (note["resource_type"] not in _REVEALING, _ACCESS_RANK[note["action"]])


def collapse(notes: list[dict]) -> list[dict]:
    """One event per patient, outcome and kind of access: a request's reads of one patient are
    one access (naming the strongest action), each kind of change stays its own event."""
    events: dict[tuple, dict] = {}
    rows: list[dict] = []
    for note in notes:
        entry = f"{note['action']} {note['resource_type']} {note['resource_id'] or ''}".rstrip()
        if note["patient_id"] is None:
            rows.append({**note, "shown": None})
            continue
        reading = note["action"] in _ACCESS_RANK
        key = (note["patient_id"], note["outcome"], "access" if reading else note["action"])
        event = events.get(key)
        if event is None:
            event = events[key] = {**note, "shown": [entry]}
            rows.append(event)
            continue
        if entry not in event["shown"]:
            event["shown"].append(entry)
        if reading and _rank(note) < _rank(event):
            event.update(
                action=note["action"],
                resource_type=note["resource_type"],
                resource_id=note["resource_id"],
            )
    for row in rows:
        if row["shown"] is not None:
            # orjson: on a list page of fifty events the standard library's encoder was most of
            # the cost of writing them down.
            row["shown"] = orjson.dumps(row["shown"]).decode()
    return rows


def flush_audit(session: Session, request_id: str | None = None) -> None:
    """Write the pending notes, one event per patient, in one statement (the caller commits)."""
    rows = collapse(session.info.pop("bridge.audit", []))
    if not rows:
        return
    for row in rows:
        row["request_id"] = request_id
    # Core statements on the session's connection (same transaction): no ORM entity is involved,
    # and the ORM's execution layer would cost more than the insert on every request.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_RECORDSET_INSERT, {"notes": orjson.dumps(rows).decode()})
    else:
        # No RETURNING of ids nobody reads.
        connection.execute(insert(_AUDIT_TABLE), rows)
