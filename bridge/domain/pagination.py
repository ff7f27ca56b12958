"""Keyset pagination with opaque cursors, stable under concurrent inserts."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from bridge.domain.errors import RuleViolation

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset ordering, and how to read its value from a row."""

    column: InstrumentedAttribute | ColumnElement
    attr: str
    descending: bool = False


def _encode(values: list[Any]) -> str:
    def conv(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, date):
            return {"d": v.isoformat()}
        return v

    raw = json.dumps([conv(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, n: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != n:
            raise ValueError
        out = []
        for v in values:
            if isinstance(v, dict) and "dt" in v:
                v = datetime.fromisoformat(v["dt"])
            elif isinstance(v, dict) and "d" in v:
                v = date.fromisoformat(v["d"])
            elif not isinstance(v, int | str | float | bool | None):
                raise ValueError
            out.append(v)
        return out
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError):
        raise RuleViolation("cursor is not valid for this list", field="cursor") from None


def _after(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    # (a, b, c) > (x, y, z) expanded, so that each column can have its own direction.
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == values[j] for j in range(i)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def paginate(
    session: Session,
    stmt: Select,
    keys: list[SortKey],
    *,
    cursor: str | None,
    limit: int,
) -> Page:
    """Run ``stmt`` for one page. The last key must be unique (the primary key)."""
    if cursor:
        stmt = stmt.where(_after(keys, _decode(cursor, len(keys))))
    order = [k.column.desc() if k.descending else k.column.asc() for k in keys]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([getattr(last, k.attr) for k in keys])
    return Page(items=rows, next_cursor=next_cursor)
