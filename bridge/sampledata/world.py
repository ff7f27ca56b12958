"""What the synthetic data set's steps share: the world they build up, and bulk inserts with ids
assigned here rather than read back."""

from __future__ import annotations

import enum
import io
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

BATCH = 5000


@dataclass
class SyntheticWorld:
    """What later steps need to know about what earlier steps made."""

    rng: random.Random
    now: datetime
    regions: list[int] = field(default_factory=list)
    municipalities: list[int] = field(default_factory=list)
    region_of_municipality: dict[int, int] = field(default_factory=dict)
    gp_practices: list[int] = field(default_factory=list)
    psych_departments: list[int] = field(default_factory=list)
    somatic_departments: list[int] = field(default_factory=list)
    nurses_by_region: dict[int, list[int]] = field(default_factory=dict)
    patients: list[dict[str, Any]] = field(default_factory=list)
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # Filled by the history steps (bridge.sampledata.history) for the steps after them.
    admissions: list[dict[str, Any]] = field(default_factory=list)
    gp_distributions: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


#: A generation step after the registry and the patients (see bridge.sampledata.history).
Step = Callable[[Session, SyntheticWorld], None]


def bulk_insert(session: Session, model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows in batches; returns how many.

    Core, not the ORM's bulk path: the ORM splits a batch into one statement per pattern of
    NULLs, which for rows with many optional columns means thousands of round trips. Core needs
    the same keys in every row of one statement, so a batch is split by its rows' key sets.
    """
    table = model.__table__
    statement = insert(table)
    connection = session.connection()
    copy = connection.dialect.name == "postgresql"
    batch: list[dict[str, Any]] = []
    total = 0

    def flush() -> None:
        by_keys: dict[frozenset[str], list[dict[str, Any]]] = {}
        for row in batch:
            by_keys.setdefault(frozenset(row), []).append(row)
        for group in by_keys.values():
            if copy:
                _copy(connection, table, group)
            else:
                connection.execute(statement, group)

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
            total += len(batch)
            batch = []
    if batch:
        flush()
        total += len(batch)
    return total


_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """One value in COPY's text format."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return value.translate(_SPECIAL)
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, enum.Enum):
        value = value.value
    elif isinstance(value, date | datetime):
        value = value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).translate(_SPECIAL)


def _copy(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY: several times faster than multi-row INSERTs for large batches."""
    keys = list(rows[0])
    # Python-side column defaults (version=1, active=True, created_at=now) for absent keys,
    # as an INSERT through Core would have applied them.
    defaults = {}
    for column in table.columns:
        if column.key not in rows[0] and column.default is not None:
            arg = column.default.arg
            defaults[column.key] = arg(None) if callable(arg) else arg
    names = keys + list(defaults)
    buffer = io.StringIO()
    tail = [_copy_value(v) for v in defaults.values()]
    for row in rows:
        buffer.write("\t".join([*(_copy_value(row[k]) for k in keys), *tail]) + "\n")
    buffer.seek(0)
    columns = ", ".join(f'"{table.columns[k].name}"' for k in names)
    with (
        connection.connection.dbapi_connection.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
    ):
        copy.write(buffer.getvalue())


def next_id(session: Session, model: Any) -> int:
    """The first free id of a table (ids are assigned here for bulk inserts)."""
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def reset_sequences(session: Session) -> None:
    """After inserting explicit ids, move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text("""
        DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT c.relname AS seq, t.relname AS tbl, a.attname AS col
                 FROM pg_class c JOIN pg_depend d ON d.objid = c.oid
                 JOIN pg_class t ON d.refobjid = t.oid
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                 WHERE c.relkind = 'S' LOOP
          EXECUTE format('SELECT setval(%L, COALESCE((SELECT max(%I) FROM %I), 0) + 1, false)',
                         r.seq, r.col, r.tbl);
        END LOOP; END $$;
    """)
    )
