"""The reference data the product needs: Denmark's regions, municipalities and health councils
(from the CSV files in bridge/data), the 2027 structure and the regions' follow-up templates."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.care.templates import seed_follow_up_templates
from bridge.domain.registry.models import (
    Organisation,
    OrganisationKind,
)
from bridge.domain.registry.reform2027 import apply_2027_structure


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("bridge.data").joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class ReferenceCounts:
    regions: int
    municipalities: int
    health_councils: int
    created: int


def seed_reference(session: Session) -> ReferenceCounts:
    """Denmark's regions (the 5 of 2007 and Region Østdanmark from 2027), 98 municipalities
    with their region per period, and the 17 health councils; running it again changes
    nothing."""
    existing = {
        (o.kind, o.region_code or o.municipality_code): o
        for o in session.scalars(
            select(Organisation).where(
                Organisation.kind.in_([OrganisationKind.REGION, OrganisationKind.MUNICIPALITY])
            )
        )
    }
    created = 0
    regions: dict[str, Organisation] = {}
    for row in _rows("regions.csv"):
        if not row["iso_code"]:
            continue  # Region Østdanmark: the 2027 structure below adds it
        region = existing.get((OrganisationKind.REGION, row["iso_code"]))
        if region is None:
            region = Organisation(
                kind=OrganisationKind.REGION, name=row["name"], region_code=row["iso_code"]
            )
            session.add(region)
            created += 1
        regions[row["iso_code"]] = region
    session.flush()
    municipalities = _rows("municipalities.csv")
    for row in municipalities:
        if (OrganisationKind.MUNICIPALITY, row["code"]) in existing:
            continue
        session.add(
            Organisation(
                kind=OrganisationKind.MUNICIPALITY,
                name=f"{row['name']} Kommune",
                municipality_code=row["code"],
                parent_id=regions[row["region_code"]].id,
            )
        )
        created += 1
    session.flush()
    reform = apply_2027_structure(session.connection())
    # The Core writes went around the identity map: reload what the session holds.
    session.expire_all()
    created += reform.organisations
    # Follow-up templates are reference data per region (local agreements an admin may edit).
    seed_follow_up_templates(session)
    return ReferenceCounts(
        regions=len(_rows("regions.csv")),
        municipalities=len(municipalities),
        health_councils=len({r["council_name"] for r in _rows("health-councils.csv")}),
        created=created,
    )
