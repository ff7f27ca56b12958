"""Keyset pagination with opaque cursors, stable under concurrent inserts."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    or_,
)
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


def _kind(key: SortKey) -> tuple[type, bool | range]:
    """The Python type a cursor value of ``key`` must have, and what else it must be: for a
    datetime whether it carries a zone, for an integer the range of its column."""
    sql_type = key.column.type
    sql_type = getattr(sql_type, "impl_instance", sql_type)  # a TypeDecorator's stored type
    if isinstance(sql_type, BigInteger):
        return int, _BIGINT
    if isinstance(sql_type, Integer):
        return int, _INTEGER
    return sql_type.python_type, bool(getattr(sql_type, "timezone", False))


# A number beyond its column is not one of our positions (and its comparison, typed like the
# column, would fail in the database rather than match nothing).
_BIGINT = range(-(2**63), 2**63)
_INTEGER = range(-(2**31), 2**31)


def _fits(value: Any, kind: Any, detail: bool | range) -> bool:
    # type() rather than isinstance(): True is an int and a datetime is a date, and neither may
    # stand in for the other in a comparison PostgreSQL has to type.
    if type(value) is not kind:
        return False
    if kind is int:
        return value in detail if isinstance(detail, range) else False
    if kind is datetime:
        aware = bool(detail)
        if value.tzinfo is None or not aware:
            return value.tzinfo is None and not aware
        value.astimezone(UTC)  # stored in UTC: year 1 at +14:00 cannot be (OverflowError)
        return True
    if kind is str:
        return "\x00" not in value
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    return True


def _decode(cursor: str, kinds: list[tuple[type, bool | range]]) -> list[Any]:
    """The values of a cursor, each of the type its key has; anything else is the caller's error.

    A cursor is opaque but not signed, so it is input like any other: a value of the wrong type
    would otherwise reach the database as a comparison it cannot make (a 500, not a 422).
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError
        out = []
        for v, (kind, detail) in zip(values, kinds, strict=True):
            if isinstance(v, dict) and v.keys() == {"dt"}:
                v = datetime.fromisoformat(v["dt"])
            elif isinstance(v, dict) and v.keys() == {"d"}:
                v = date.fromisoformat(v["d"])
            if not _fits(v, kind, detail):
                raise ValueError
            out.append(v)
        return out
    except (
        ValueError,
        OverflowError,
        binascii.Error,
        UnicodeDecodeError,
        TypeError,
        RecursionError,
    ):
        raise RuleViolation("cursor is not valid for this list", field="cursor") from None


def _after(keys: tuple[SortKey, ...]) -> ColumnElement[bool]:
    # (a, b, c) > (x, y, z) expanded, so that each column can have its own direction; the
    # cursor's values are bound parameters (page_after_0, ...), so the condition is built once.
    values: list[BindParameter[Any]] = [
        bindparam(f"page_after_{i}", type_=key.column.type) for i, key in enumerate(keys)
    ]
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == values[j] for j in range(i)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def _page_statement(stmt: Select, keys: tuple[SortKey, ...], after: bool) -> Select:
    """``stmt`` in key order, from a cursor's position when ``after``, one page and one row."""
    if after:
        stmt = stmt.where(_after(keys))
    order = [k.column.desc() if k.descending else k.column.asc() for k in keys]
    return stmt.order_by(*order).limit(page_limit())


def page_limit() -> BindParameter[int]:
    """A page's row limit, written into the statement rather than sent as a parameter.

    psycopg 3 prepares a statement on the server after its fifth run, and PostgreSQL may then
    plan it once for any values. Not knowing the limit, that plan is made for a large share of
    the rows: the nurse's patient list at 10,000 patients took 1.13 ms a page on it, 0.29 ms
    with the limit written in (the benchmark's generic-plan check, bench/RESULTS.md). A
    statement per limit asked for is a few per list."""
    return bindparam("page_limit", type_=Integer(), literal_execute=True)


# A statement its caller builds once per shape (its values bound, see ``paginate``) gets its page
# statement built once too. SQLAlchemy then finds the compiled form by the statement object
# itself, instead of walking the whole statement for a cache key on every request (py-spy under
# load: a tenth of a list request's time in the web worker).
_built_page_statement = lru_cache(maxsize=2048)(_page_statement)


@lru_cache(maxsize=2048)
def _one_per_row(stmt: Select) -> bool:
    return len(stmt.column_descriptions) == 1


def given_filters(**values: Any) -> dict[str, Any]:
    """The filters a request gives (those not None), by name: the values of a statement built
    once per combination of them (see ``paginate``'s ``params``)."""
    return {name: value for name, value in values.items() if value is not None}


def paginate(
    session: Session,
    stmt: Select,
    keys: list[SortKey],
    *,
    cursor: str | None,
    limit: int,
    params: Mapping[str, Any] | None = None,
) -> Page:
    """Run ``stmt`` for one page. The last key must be unique (the primary key).

    ``params``: ``stmt`` is built once for its shape and kept (its values are bound parameters,
    given here); pass a freshly built statement without them.
    """
    values: dict[str, Any] = {**(params or {}), "page_limit": limit + 1}
    if cursor:
        decoded = _decode(cursor, [_kind(k) for k in keys])
        values.update({f"page_after_{i}": v for i, v in enumerate(decoded)})
    build = _page_statement if params is None else _built_page_statement
    page_stmt = build(stmt, tuple(keys), bool(cursor))
    rows: list[Any]
    if _one_per_row(stmt):
        rows = list(session.scalars(page_stmt, values))
    else:
        # Several columns, no entity (a read that needs none, see PatientRecord): on the
        # connection, past the ORM's execution layer, which took a quarter of the statement's
        # CPU at fifty rows. The session's pending changes go first, as its execute would send
        # them.
        session.flush()
        rows = list(session.connection().execute(page_stmt, values))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([getattr(last, k.attr) for k in keys])
    return Page(items=rows, next_cursor=next_cursor)
