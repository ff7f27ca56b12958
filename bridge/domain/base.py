"""Declarative base, column types and the naming convention shared by every model."""

from __future__ import annotations

from dataclasses import MISSING, fields
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    Select,
    Table,
    TypeDecorator,
    bindparam,
    select,
    text,
)
from sqlalchemy.engine import CursorResult, Dialect, Result
from sqlalchemy.orm import DeclarativeBase, Session

# Stable constraint names, so Alembic autogenerate produces the same migration on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, but INTEGER on SQLite where only INTEGER PRIMARY KEY autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps the offset (timestamptz); SQLite drops it, so values are normalised to UTC on
    the way in and marked UTC on the way out. Naive datetimes are refused: they are bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ColumnRecord:
    """A row of one table as a read shows it, for a frozen, slotted dataclass of its columns.

    The API's most frequent reads (a patient, a page of patients or tasks) need the columns and
    a property or two, not an entity: loading one per row (identity map, instance state) cost a
    worker more CPU than the statement itself (issue 19). Writes still load the entity; a record
    carries the entity's ETag, so a tag read from it guards a write of the entity.
    """

    __slots__ = ()
    #: The entity whose table's columns the record holds.
    entity: ClassVar[type[Base]]

    @classmethod
    def columns(cls) -> list[Column[Any]]:
        """The columns to select, in the order the record takes them: its fields without a
        default, each named as its column (a KeyError names one that is not). Fields with a
        default come last and are read beside the row, as a meeting's participants."""
        table = cast(Table, cls.entity.__table__)
        return [table.c[f.name] for f in fields(cls) if f.default is MISSING]  # type: ignore[arg-type]


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


ModelT = TypeVar("ModelT")


def get_existing(session: Session, model: type[ModelT], ident: object) -> ModelT:
    """A row a foreign key says exists (a meeting's patient, a stay's patient)."""
    row = session.get(model, ident)
    if row is None:
        raise LookupError(f"{model.__name__} {ident} does not exist")
    return row


def read_by_id(session: Session, model: type[ModelT], row_id: int) -> ModelT | None:
    """The row with this id, for a read that starts with it.

    Session.get builds its statement again on every call (0.13 ms of CPU), and a read's first
    lookup never finds the row already in the session, which is all that Session.get adds; this
    statement is built once per model."""
    stmt = _by_id(cast(Any, model))  # a mapped class hashes as any class does; mypy doubts it
    return cast(ModelT | None, session.scalar(stmt, {"row_id": row_id}))


@cache
def _by_id(model: Any) -> Select[Any]:
    return select(model).where(model.id == bindparam("row_id"))


def plan_for_each_run(session: Session) -> None:
    """Have PostgreSQL plan every statement of this transaction for its values (the scheduled
    scans and counts).

    psycopg 3 prepares a statement on the server after its fifth run on a connection, and
    PostgreSQL may then settle on a generic plan, one for any values. For the web's small
    lookups that saves planning; for a count over a million patients the values decide the plan:
    in the benchmark's 1,000,000-patient build an overview rollup statement ran for over two
    minutes once prepared, and 11-14 s a group planned for its values."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (its cursor's rowcount)."""
    return cast(CursorResult[Any], result).rowcount or 0
