"""Where other areas plug into the web pages: Today sections, patient panels, timeline items.

Each area registers a function once at import time (e.g. in its ``bridge/web/<area>.py``, listed
in ``WEB_MODULES`` in ``bridge/web/__init__.py``). The functions receive the session and the
principal and must call the area's own domain services, so access control and audit apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.web.timeline_svg import TimelineItem


@dataclass(frozen=True)
class SectionItem:
    """One line of a section: what, for whom, how urgent, and where to act on it."""

    title: str
    href: str | None = None
    detail: str | None = None
    patient_name: str | None = None
    # "info", "warning" or "danger": drawn as a coloured edge and a word, never colour alone.
    severity: str = "info"
    when: date | datetime | None = None
    overdue: bool = False
    # A deadline (stored as the instant it passes): shown as the working day it ends instead of
    # ``when``.
    due: datetime | None = None


@dataclass(frozen=True)
class Section:
    """A titled block of a page. ``template`` (optional) replaces the generic item list."""

    key: str
    title: str
    items: Sequence[SectionItem] = ()
    empty_text: str = ""
    template: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    more_href: str | None = None


@dataclass(frozen=True)
class Cell:
    """One value in a caseload column, e.g. "2 open" or a deadline."""

    text: str
    severity: str = "info"
    when: date | datetime | None = None
    due: datetime | None = None


TodayProvider = Callable[[Session, Principal, datetime], Section | None]

# The slot at the very top of Today, for new messages from GPs (the inbound MedCom area registers
# a provider with this order). Return None when there are none, so the slot takes no space.
TOP_ORDER = 0
PatientPanelProvider = Callable[[Session, Principal, int, datetime], Section | None]
TimelineSource = Callable[[Session, Principal, int, date, date], Sequence[TimelineItem]]

# Called once per page with every patient id shown, so a column costs a fixed number of queries.
CaseloadColumn = Callable[[Session, Principal, Sequence[int]], dict[int, Cell]]
CASELOAD_COLUMNS = ("flags", "next_deadline")

_today: dict[str, tuple[int, TodayProvider]] = {}
_columns: dict[str, CaseloadColumn] = {}
_panels: dict[str, tuple[int, PatientPanelProvider]] = {}
_timeline: dict[str, TimelineSource] = {}


def register_today_provider(key: str, provider: TodayProvider, order: int = 100) -> None:
    """Add (or replace, by ``key``) a section of the Today page; lower ``order`` comes first."""
    _today[key] = (order, provider)


def register_patient_panel(key: str, provider: PatientPanelProvider, order: int = 100) -> None:
    """Add (or replace, by ``key``) a panel of the patient page, e.g. open tasks or meetings."""
    _panels[key] = (order, provider)


def register_timeline_source(key: str, source: TimelineSource) -> None:
    """Add (or replace, by ``key``) a source of items for the patient's timeline."""
    _timeline[key] = source


def register_caseload_column(key: str, column: CaseloadColumn) -> None:
    """Fill a caseload column ("flags" or "next_deadline") for a page of patients at once."""
    if key not in CASELOAD_COLUMNS:
        raise ValueError(f"the caseload has no column {key!r}; it has {CASELOAD_COLUMNS}")
    _columns[key] = column


def caseload_cells(
    session: Session, principal: Principal, patient_ids: Sequence[int]
) -> dict[str, dict[int, Cell]]:
    """Each registered column's cells for the patients on the page."""
    if not patient_ids:
        return {}
    return {key: fn(session, principal, patient_ids) for key, fn in _columns.items()}


def today_sections(session: Session, principal: Principal, now: datetime) -> list[Section]:
    """Every registered Today section, in order (providers returning None are left out)."""
    return _collect(_today, lambda fn: fn(session, principal, now))


def patient_panels(
    session: Session, principal: Principal, patient_id: int, now: datetime
) -> list[Section]:
    """Every registered panel of the patient page, in order."""
    return _collect(_panels, lambda fn: fn(session, principal, patient_id, now))


def timeline_items(
    session: Session, principal: Principal, patient_id: int, first: date, last: date
) -> list[TimelineItem]:
    """The items every source gives for the patient between ``first`` and ``last``."""
    items: list[TimelineItem] = []
    for key in sorted(_timeline):
        items.extend(_timeline[key](session, principal, patient_id, first, last))
    return items


def _collect(registry: dict[str, tuple[int, Callable]], call: Callable) -> list[Section]:
    out = []
    for _key, (_order, fn) in sorted(registry.items(), key=lambda kv: (kv[1][0], kv[0])):
        section = call(fn)
        if section is not None:
            out.append(section)
    return out
