"""Statutory plans made at discharge (genoptraeningsplan and the like) and who took part."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.care import rules
from bridge.domain.care.access import ADMISSION_WRITERS, COORDINATORS, _forbid
from bridge.domain.care.admissions import _visible_admission
from bridge.domain.care.models import (
    PlanEffort,
    StatutoryPlan,
    StatutoryPlanParticipant,
)
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.registry.models import (
    Organisation,
)

# --- statutory plans ------------------------------------------------------------------------------


def _plans_query() -> Select[StatutoryPlan]:
    return select(StatutoryPlan).options(
        selectinload(StatutoryPlan.participants), selectinload(StatutoryPlan.efforts)
    )


def add_statutory_plan(
    session: Session, p: Principal, admission_id: int, data: dict[str, Any]
) -> StatutoryPlan:
    """Record an udskrivningsaftale, koordinationsplan or KIP for a psychiatric stay."""
    admission = _visible_admission(session, p, admission_id, AuditAction.CREATE)
    if not p.has(*ADMISSION_WRITERS):
        raise _forbid(session, "your role may not record statutory plans")
    if not p.has(*COORDINATORS) and admission.department_id != p.organisation_id:
        raise _forbid(session, "hospital staff record plans for their own department's stays")
    efforts = data.get("efforts", [])
    participants = sorted(set(data.get("participant_ids", [])))
    agreed_on = data.get("agreed_on") or today_in_copenhagen()
    rules.check_statutory_plan(
        kind=data["kind"],
        specialty=admission.specialty,
        patient_took_part=data["patient_took_part"],
        agreed_on=agreed_on,
        next_review_date=data.get("next_review_date"),
        efforts=len(efforts),
    )
    wanted = set(participants) | {e["responsible_organisation_id"] for e in efforts}
    found = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(wanted))))
    if wanted - found:
        raise RuleViolation(
            f"no such organisation(s): {sorted(wanted - found)}", field="participant_ids"
        )
    plan = StatutoryPlan(
        admission_id=admission.id,
        kind=data["kind"],
        agreed_on=agreed_on,
        patient_took_part=data["patient_took_part"],
        goals=data.get("goals"),
        next_review_date=data.get("next_review_date"),
        created_by_id=p.staff_id,
        participants=[StatutoryPlanParticipant(organisation_id=o) for o in participants],
        efforts=[PlanEffort(**e) for e in efforts],
    )
    session.add(plan)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"the stay already has a {data['kind'].value}") from None
    return plan


def list_statutory_plans(session: Session, p: Principal, admission_id: int) -> list[StatutoryPlan]:
    """The plans recorded for a stay."""
    admission = _visible_admission(session, p, admission_id, AuditAction.LIST)
    return list(
        session.scalars(
            _plans_query()
            .where(StatutoryPlan.admission_id == admission.id)
            .order_by(StatutoryPlan.id)
        )
    )


def get_statutory_plan(
    session: Session, p: Principal, admission_id: int, plan_id: int
) -> StatutoryPlan:
    """One plan of a stay."""
    admission = _visible_admission(session, p, admission_id, AuditAction.READ)
    plan = session.scalar(
        _plans_query().where(
            StatutoryPlan.id == plan_id, StatutoryPlan.admission_id == admission.id
        )
    )
    if plan is None:
        raise NotFound("no such statutory plan")
    return plan


def today_in_copenhagen(now: datetime | None = None) -> date:
    """The Copenhagen calendar date of ``now``."""
    return (now or utcnow()).astimezone(COPENHAGEN).date()
