"""What a page shows, assembled from the domain services (which check access and audit).

The only queries of its own are names of organisations and staff, which are not patient data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.audit import AuditEvent
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.patients import records, services
from bridge.domain.patients.models import (
    CareTeamMember,
    Consent,
    Diagnosis,
    Enrollment,
    Patient,
    PatientRecord,
    Relative,
)
from bridge.domain.registry.models import Organisation
from bridge.web.sections import Cell, Section, caseload_cells, patient_panels, timeline_items
from bridge.web.timeline_svg import TimelineItem, window

ACCESS_LOG_ROWS = 20


def organisation_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Names for a set of organisation ids, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))
    )
    return dict(rows.all())


@dataclass
class CaseloadRow:
    patient: PatientRecord
    municipality: str
    gp: str | None
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class Caseload:
    rows: list[CaseloadRow]
    next_cursor: str | None


def caseload(
    session: Session, p: Principal, *, name: str | None, cursor: str | None, limit: int = 50
) -> Caseload:
    """The caller's patients (optionally those whose name contains ``name``), by name."""
    page = services.list_patients(session, p, cursor=cursor, limit=limit, name=name or None)
    names = organisation_names(
        session, [x.municipality_id for x in page.items] + [x.gp_practice_id for x in page.items]
    )
    cells = caseload_cells(session, p, [x.id for x in page.items])
    rows = [
        CaseloadRow(
            patient=x,
            municipality=names.get(x.municipality_id, ""),
            gp=names.get(x.gp_practice_id) if x.gp_practice_id else None,
            cells={key: col[x.id] for key, col in cells.items() if x.id in col},
        )
        for x in sorted(page.items, key=lambda x: (x.name.lower(), x.id))
    ]
    return Caseload(rows=rows, next_cursor=page.next_cursor)


@dataclass
class PatientView:
    patient: Patient
    cpr_revealed: bool
    municipality: str
    gp: str | None
    enrollments: list[Enrollment]
    care_team: list[tuple[CareTeamMember, str]]
    consents: list[tuple[Consent, str | None]]
    relatives: list[Relative]
    diagnoses: list[Diagnosis]
    access_log: list[tuple[AuditEvent, str]] | None
    timeline: list[TimelineItem]
    timeline_first: date
    timeline_last: date
    panels: list[Section] = field(default_factory=list)


def patient_view(
    session: Session, p: Principal, patient_id: int, now: datetime, *, reveal_cpr: bool = False
) -> PatientView:
    """Everything on the patient page; revealing the full CPR number is a separate audit note."""
    patient = services.get_patient(session, p, patient_id)
    if reveal_cpr:
        services.read_patient_scoped(session, p, patient_id, "patient_cpr")
    enrollments = records.list_enrollments(session, p, patient_id)
    kept = records.patient_records(session, p, patient_id)
    care_team, consents = kept.care_team, kept.consents
    relatives, diagnoses = kept.relatives, kept.diagnoses
    log_rows: list[tuple[AuditEvent, str]] | None = None
    if services.may_read_access_log(session, p, patient_id):
        page = services.access_log(session, p, patient_id, cursor=None, limit=ACCESS_LOG_ROWS)
        who = services.staff_names(session, {e.staff_id for e in page.items if e.staff_id})
        log_rows = [(e, who.get(e.staff_id, "") if e.staff_id else "") for e in page.items]
    names = organisation_names(
        session,
        [patient.municipality_id, patient.gp_practice_id]
        + [m.organisation_id for m in care_team]
        + [c.recipient_organisation_id for c in consents],
    )
    today = now.astimezone(COPENHAGEN).date()
    first, last = window(today)
    items = [_enrollment_item(e) for e in enrollments]
    items += timeline_items(session, p, patient_id, first, last)
    return PatientView(
        patient=patient,
        cpr_revealed=reveal_cpr,
        municipality=names.get(patient.municipality_id, ""),
        gp=names.get(patient.gp_practice_id) if patient.gp_practice_id else None,
        enrollments=enrollments,
        care_team=[(m, names.get(m.organisation_id, "")) for m in care_team],
        consents=[
            (c, names.get(c.recipient_organisation_id) if c.recipient_organisation_id else None)
            for c in consents
        ],
        relatives=relatives,
        diagnoses=diagnoses,
        access_log=log_rows,
        timeline=items,
        timeline_first=first,
        timeline_last=last,
        panels=patient_panels(session, p, patient_id, now),
    )


def _enrollment_item(e: Enrollment) -> TimelineItem:
    # The course itself is drawn as a bar in its own lane, so an empty timeline still tells
    # since when the nurse has followed the patient.
    return TimelineItem(kind="enrollment", start=e.start_date, end=e.end_date, label=e.reason)
