"""Follow-up templates: the local agreements on who follows up a discharge, and how fast."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.care.models import FollowUpCondition, FollowUpTemplate, ResponsibleKind
from bridge.domain.errors import NotFound, RuleViolation
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.registry.models import Organisation, OrganisationKind, Role, Specialty

_P, _S = Specialty.PSYCHIATRY, Specialty.SOMATIC
_C, _K = FollowUpCondition, ResponsibleKind

# (applies_to, condition, title, responsible kind, working days, hours). Local agreements, not
# law: each region gets its own copy to change. Medication reconciliation is put on the
# discharging department, which holds the medication list at the moment of discharge.
DEFAULT_TEMPLATES: tuple[
    tuple[Specialty, FollowUpCondition, str, ResponsibleKind, int | None, int | None], ...
] = (
    (
        _P,
        _C.DISCHARGE_HOME,
        "Brobyggersygeplejerskens kontakt efter udskrivelse",
        _K.NURSE,
        None,
        72,
    ),
    (_P, _C.ALWAYS, "Kommunens kontakt til borgeren", _K.MUNICIPALITY, 1, None),
    (_P, _C.ALWAYS, "Medicinafstemning i FMK", _K.HOSPITAL, 2, None),
    (_P, _C.ALWAYS, "Konsultation hos egen læge", _K.GP, 5, None),
    (
        _P,
        _C.ALWAYS,
        "Ambulant tid eller tid hos praktiserende psykiater booket",
        _K.HOSPITAL,
        10,
        None,
    ),
    (_P, _C.NETWORK_MEETING_REQUESTED, "Netværksmøde afholdt", _K.NURSE, 5, None),
    (_S, _C.ALWAYS, "Konsultation hos egen læge", _K.GP, 5, None),
    (_S, _C.ALWAYS, "Medicinafstemning i FMK", _K.HOSPITAL, 2, None),
    (
        _S,
        _C.REHABILITATION_PLAN_ISSUED,
        "Opstart af kommunal genoptræning",
        _K.MUNICIPALITY,
        5,
        None,
    ),
    (_S, _C.ALWAYS, "Kommunens kontakt til borgeren", _K.MUNICIPALITY, 1, None),
)


def seed_follow_up_templates(session: Session) -> int:
    """Give each region without templates the defaults; returns how many were added.

    A region that has any template is left alone, so an admin's changes (and deactivations)
    survive running the seed again.
    """
    regions = session.scalars(
        select(Organisation.id).where(Organisation.kind == OrganisationKind.REGION)
    ).all()
    seeded = set(session.scalars(select(FollowUpTemplate.region_id).distinct()))
    added = 0
    for region_id in regions:
        if region_id in seeded:
            continue
        for applies_to, condition, title, kind, days, hours in DEFAULT_TEMPLATES:
            session.add(
                FollowUpTemplate(
                    region_id=region_id,
                    applies_to=applies_to,
                    condition=condition,
                    title=title,
                    responsible_kind=kind,
                    deadline_working_days=days,
                    deadline_hours=hours,
                    active=True,
                )
            )
            added += 1
    session.flush()
    return added


def _check_deadline(days: int | None, hours: int | None) -> None:
    if (days is None) == (hours is None):
        raise RuleViolation(
            "give either deadline_working_days or deadline_hours", field="deadline_working_days"
        )


def list_templates(
    session: Session,
    p: Principal,
    *,
    region_id: int | None,
    cursor: str | None,
    limit: int,
) -> Page[FollowUpTemplate]:
    """The templates (admins and nurses read them)."""
    p.require(Role.ADMIN, Role.NURSE)
    stmt = select(FollowUpTemplate)
    if region_id is not None:
        stmt = stmt.where(FollowUpTemplate.region_id == region_id)
    return paginate(session, stmt, [SortKey(FollowUpTemplate.id, "id")], cursor=cursor, limit=limit)


def get_template(session: Session, p: Principal, template_id: int) -> FollowUpTemplate:
    """One template."""
    p.require(Role.ADMIN, Role.NURSE)
    template = session.get(FollowUpTemplate, template_id)
    if template is None:
        raise NotFound("no such follow-up template")
    return template


def create_template(session: Session, p: Principal, data: dict[str, Any]) -> FollowUpTemplate:
    """Add a template for a region (admin)."""
    p.require(Role.ADMIN)
    region = session.get(Organisation, data["region_id"])
    if region is None or region.kind != OrganisationKind.REGION:
        raise RuleViolation("region_id must name a region", field="region_id")
    _check_deadline(data.get("deadline_working_days"), data.get("deadline_hours"))
    template = FollowUpTemplate(**data)
    session.add(template)
    session.flush()
    return template


def update_template(
    session: Session, p: Principal, template: FollowUpTemplate, data: dict[str, Any]
) -> FollowUpTemplate:
    """Change a template (admin); plans already made keep their copies."""
    p.require(Role.ADMIN)
    days = data.get("deadline_working_days", template.deadline_working_days)
    hours = data.get("deadline_hours", template.deadline_hours)
    # Setting one kind of deadline replaces the other.
    if data.get("deadline_working_days") is not None and "deadline_hours" not in data:
        hours = None
    if data.get("deadline_hours") is not None and "deadline_working_days" not in data:
        days = None
    _check_deadline(days, hours)
    for key, value in data.items():
        setattr(template, key, value)
    template.deadline_working_days, template.deadline_hours = days, hours
    session.flush()
    return template
