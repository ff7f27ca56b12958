"""The 2027 structure as data: Region Østdanmark, successor links, memberships, health councils.

Written in SQLAlchemy Core against a connection and with its own light table definitions, so
the same code serves ``bridge seed-reference`` and the migration that brings an existing
database forward (a migration must not depend on today's ORM models). Idempotent: it only adds
what is missing and fills validity that is unset; it never deletes, so history stays.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

REFORM_DAY = date(2027, 1, 1)
LAST_DAY_BEFORE = date(2026, 12, 31)

_org = sa.table(
    "organisation",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("name", sa.String),
    sa.column("parent_id", sa.Integer),
    sa.column("region_code", sa.String),
    sa.column("municipality_code", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("successor_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("version", sa.Integer),
)
_member = sa.table(
    "organisation_membership",
    sa.column("id", sa.Integer),
    sa.column("organisation_id", sa.Integer),
    sa.column("group_id", sa.Integer),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
)


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("bridge.data").joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ReformCounts:
    organisations: int
    memberships: int


def _insert_org(conn: Connection, **values: Any) -> int:
    from bridge.domain.base import utcnow

    return conn.execute(
        _org.insert().values(created_at=utcnow(), version=1, **values).returning(_org.c.id)
    ).scalar_one()


def apply_2027_structure(conn: Connection) -> ReformCounts:
    """Bring the registry to the 2027 structure; does nothing without the 2007 regions.

    The regions must exist (``seed-reference`` makes them); an empty database is left alone so
    that migrating it and then seeding gives the same result as seeding alone.
    """
    regions = {
        name: (rid, code)
        for rid, name, code in conn.execute(
            sa.select(_org.c.id, _org.c.name, _org.c.region_code).where(_org.c.kind == "region")
        )
    }
    by_code = {code: rid for rid, code in regions.values() if code}
    region_rows = _rows("regions.csv")
    if not any(r["iso_code"] in by_code for r in region_rows if r["iso_code"]):
        return ReformCounts(0, 0)
    added_orgs = added_members = 0
    region_id: dict[str, int] = {}
    for row in region_rows:
        rid = by_code.get(row["iso_code"]) if row["iso_code"] else None
        found = regions.get(row["name"])
        if rid is None and found is not None and not found[1]:
            rid = found[0]
        if rid is None:
            rid = _insert_org(
                conn,
                kind="region",
                name=row["name"],
                region_code=row["iso_code"] or None,
                valid_from=_day(row["valid_from"]),
                valid_to=_day(row["valid_to"]),
            )
            added_orgs += 1
        region_id[row["name"]] = rid
    for row in region_rows:
        rid = region_id[row["name"]]
        # Fill only what is unset: an administrator's own dates win over the data file.
        for column in ("valid_from", "valid_to"):
            if row[column]:
                conn.execute(
                    _org.update()
                    .where(_org.c.id == rid, getattr(_org.c, column).is_(None))
                    .values({column: _day(row[column])})
                )
        if row["successor_name"]:
            conn.execute(
                _org.update()
                .where(_org.c.id == rid, _org.c.successor_id.is_(None))
                .values(successor_id=region_id[row["successor_name"]])
            )
    added_members += _region_memberships(conn, region_rows, region_id)
    orgs, members = _health_councils(conn, region_id)
    return ReformCounts(added_orgs + orgs, added_members + members)


def _has_membership(conn: Connection, org_id: int, group_kind: str) -> bool:
    group = _org.alias("grp")
    return (
        conn.execute(
            sa.select(_member.c.id)
            .join(group, group.c.id == _member.c.group_id)
            .where(_member.c.organisation_id == org_id, group.c.kind == group_kind)
            .limit(1)
        ).first()
        is not None
    )


def _region_memberships(
    conn: Connection, region_rows: list[dict[str, str]], region_id: dict[str, int]
) -> int:
    """Every municipality, and every organisation directly under a merging region, gets its
    region per period; where it already has one, it is left as it is."""
    name_of = {rid: name for name, rid in region_id.items()}
    ends = {
        region_id[r["name"]]: (_day(r["valid_from"]), _day(r["valid_to"]), r["successor_name"])
        for r in region_rows
    }
    new_region = {r["code"]: r["region_name"] for r in _rows("municipality-regions-2027.csv")}
    added = 0
    members = conn.execute(
        sa.select(_org.c.id, _org.c.kind, _org.c.parent_id, _org.c.municipality_code).where(
            _org.c.parent_id.in_(list(name_of)),
            _org.c.kind.notin_(["region", "health_council"]),
        )
    ).all()
    for org_id, kind, parent_id, code in members:
        if _has_membership(conn, org_id, "region"):
            continue
        start, end, successor = ends[parent_id]
        later = (new_region.get(code) if kind == "municipality" else None) or successor or None
        periods: list[tuple[int, date | None, date | None]] = []
        if later and later != name_of[parent_id]:
            periods = [
                (parent_id, start, end or LAST_DAY_BEFORE),
                (region_id[later], REFORM_DAY, None),
            ]
        elif kind == "municipality":
            # Written for the unchanged ones too, so set-based queries find every
            # municipality's region in one join.
            periods = [(parent_id, start, end)]
        for group, valid_from, valid_to in periods:
            conn.execute(
                _member.insert().values(
                    organisation_id=org_id,
                    group_id=group,
                    valid_from=valid_from,
                    valid_to=valid_to,
                )
            )
            added += 1
    return added


def _health_councils(conn: Connection, region_id: dict[str, int]) -> tuple[int, int]:
    rows = _rows("health-councils.csv")
    councils = {
        name: cid
        for cid, name in conn.execute(
            sa.select(_org.c.id, _org.c.name).where(_org.c.kind == "health_council")
        )
    }
    municipalities = {
        code: mid
        for mid, code in conn.execute(
            sa.select(_org.c.id, _org.c.municipality_code).where(_org.c.kind == "municipality")
        )
    }
    added_orgs = added_members = 0
    for row in rows:
        if row["council_name"] not in councils:
            councils[row["council_name"]] = _insert_org(
                conn,
                kind="health_council",
                name=row["council_name"],
                parent_id=region_id[row["region_name"]],
                valid_from=REFORM_DAY,
            )
            added_orgs += 1
        mid = municipalities.get(row["municipality_code"])
        if mid is None or _has_membership(conn, mid, "health_council"):
            continue
        conn.execute(
            _member.insert().values(
                organisation_id=mid, group_id=councils[row["council_name"]], valid_from=REFORM_DAY
            )
        )
        added_members += 1
    return added_orgs, added_members
