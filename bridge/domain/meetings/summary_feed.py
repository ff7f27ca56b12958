"""The municipalities' feed of final minutes (meeting summaries) and its acknowledgements."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import BindParameter

from bridge.domain import audit
from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import UTCDateTime, utcnow
from bridge.domain.errors import Forbidden, NotFound
from bridge.domain.identifiers import mask_cpr
from bridge.domain.meetings.distribution_status import acknowledge_received
from bridge.domain.meetings.minutes import _settled
from bridge.domain.meetings.models import (
    ActionItem,
    Distribution,
    DistributionStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
)
from bridge.domain.meetings.scoping import _not_found
from bridge.domain.pagination import _BIGINT, _decode, _encode, page_limit
from bridge.domain.patients import cpr as cpr_disclosure
from bridge.domain.patients.models import Patient
from bridge.domain.registry.models import Role
from bridge.domain.registry.services import municipality_id_by_code

# --- municipality feed --------------------------------------------------------------------------

# Every municipality's integration polls the feed, so a page is read as Core rows of the columns
# it shows, by statements built once (per dialect and shape) with the request's values bound.
_VERSION = MinutesVersion.__table__
_NEWER_VERSION = _VERSION.alias("newer_version")
_MEETING = NetworkMeeting.__table__
_PATIENT = Patient.__table__
_DISTRIBUTION = cast(Table, Distribution.__table__)
_ACTION_ITEM = ActionItem.__table__


@dataclass
class SummaryPage:
    """Final minutes as a municipality sees them, and where the reader got to.

    Each item is a plain dict with the response's fields (id, meeting_id, patient, version_no,
    meeting_start, ..., action_items, distribution), values as stored: timestamps, dates and
    enums are the API's to write out.
    """

    items: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool


def _municipality_of(session: Session, p: Principal, code: str) -> int:
    """The id of the caller's municipality, which ``code`` must name."""
    if not p.has(Role.MUNICIPALITY):
        raise Forbidden("only a municipality reads its meeting summaries")
    try:
        muni_id = municipality_id_by_code(session, code)
    except NotFound:
        muni_id = None
    if muni_id is None or muni_id != p.municipality_id:
        raise _not_found(session, p, "meeting_summary", code, "municipality")
    return muni_id


def _feed_position(cursor: str) -> tuple[int, int]:
    # A feed position is (change_xid, change_seq), both bigint: anything else is not our cursor.
    values = _decode(cursor, [(int, _BIGINT), (int, _BIGINT)])
    return values[0], values[1]


@functools.cache
def _summary_page_query(dialect: str, *, after: bool, since: bool) -> Select:
    """The latest final version of each meeting of the municipality's citizens whose copy to the
    municipality is not blocked, settled, in change order: one page and one row more.

    Every copy the municipality ever got is a candidate. Each copy carries its version's change
    position (``Distribution.change_xid/change_seq``, kept equal by ``stamp_change``), so the
    candidates come in change order straight from the index on (recipient, position), and
    ``OFFSET 0`` keeps that subquery, and its order, whole; the checks that need other rows
    (latest final, the citizen's municipality) then run for the first candidates only, until
    the page is full: a page reads about a page of index entries, however long the history.

    The citizens' condition is the municipality's visibility rule (``patient_visible`` of a
    municipality principal, which ``_municipality_of`` makes the caller), bound here so the
    statement is built once.
    """
    version, meeting, patient, dist = _VERSION, _MEETING, _PATIENT, _DISTRIBUTION
    municipality_id: BindParameter[int] = bindparam("municipality_id")
    candidates = (
        select(
            version.c.id,
            version.c.meeting_id,
            version.c.version_no,
            version.c.finalised_at,
            version.c.changed_at,
            version.c.summary,
            version.c.decisions,
            version.c.amendment_reason,
            dist.c.change_xid,
            dist.c.change_seq,
            dist.c.status.label("distribution_status"),
            dist.c.legal_basis,
            dist.c.delivered_at,
            dist.c.acknowledged_at,
        )
        .select_from(
            version.join(
                dist,
                and_(
                    dist.c.minutes_version_id == version.c.id,
                    dist.c.recipient_organisation_id == municipality_id,
                ),
            )
        )
        .where(
            version.c.status == MinutesStatus.FINAL,
            dist.c.status != DistributionStatus.BLOCKED,
            _settled(dialect, dist),
        )
    )
    if after:
        # (change_xid, change_seq) > the cursor's, spelt out as pagination._after does.
        xid: BindParameter[int] = bindparam("after_xid")
        seq: BindParameter[int] = bindparam("after_seq")
        candidates = candidates.where(
            or_(
                dist.c.change_xid > xid,
                and_(dist.c.change_xid == xid, dist.c.change_seq > seq),
            )
        )
    if since:
        candidates = candidates.where(version.c.changed_at >= bindparam("updated_since"))
    c = candidates.order_by(dist.c.change_xid, dist.c.change_seq).offset(0).subquery("candidate")
    latest_final = (
        select(func.max(_NEWER_VERSION.c.version_no))
        .where(
            _NEWER_VERSION.c.meeting_id == c.c.meeting_id,
            _NEWER_VERSION.c.status == MinutesStatus.FINAL,
        )
        .correlate_except(_NEWER_VERSION)  # the candidate, from two levels up
        .scalar_subquery()
    )
    # Whether the candidate is shown: the latest final version, of a meeting about one of the
    # municipality's citizens. One boolean subquery, for the planner's sake: the page is taken
    # by a query with neither a join nor an ORDER BY of its own, and only then does PostgreSQL
    # plan the candidates for the few rows the LIMIT needs (an ordered walk of the index)
    # rather than for all of them (every copy the municipality ever got, fetched and sorted:
    # 30 ms a page at 1,000,000 patients, 2.6 ms this way). As EXISTS the check would become a
    # join, and as two comparisons with subqueries it would be estimated to pass so few rows
    # that all of them seem needed. The candidates' order carries through the filter to the
    # LIMIT; the outer query sorts the page and adds the meeting and the citizen.
    shown = (
        select(and_(patient.c.municipality_id == municipality_id, c.c.version_no == latest_final))
        .select_from(meeting.join(patient, patient.c.id == meeting.c.patient_id))
        .where(meeting.c.id == c.c.meeting_id)
        .correlate_except(meeting, patient)
        .scalar_subquery()
    )
    page = select(c).where(shown).limit(page_limit()).subquery("page")
    return (
        select(
            page.c.id,
            page.c.meeting_id,
            page.c.version_no,
            page.c.finalised_at,
            page.c.changed_at,
            page.c.summary,
            page.c.decisions,
            page.c.amendment_reason,
            page.c.change_xid,
            page.c.change_seq,
            meeting.c.scheduled_start,
            meeting.c.scheduled_end,
            patient.c.id.label("patient_id"),
            patient.c.name.label("patient_name"),
            patient.c.cpr,
            page.c.distribution_status,
            page.c.legal_basis,
            page.c.delivered_at,
            page.c.acknowledged_at,
        )
        .select_from(
            page.join(meeting, meeting.c.id == page.c.meeting_id).join(
                patient, patient.c.id == meeting.c.patient_id
            )
        )
        .order_by(page.c.change_xid, page.c.change_seq)
    )


_SUMMARY_ACTION_ITEMS = (
    select(
        _ACTION_ITEM.c.minutes_version_id,
        _ACTION_ITEM.c.id,
        _ACTION_ITEM.c.description,
        _ACTION_ITEM.c.responsible_organisation_id,
        _ACTION_ITEM.c.person,
        _ACTION_ITEM.c.due_date,
        _ACTION_ITEM.c.status,
        _ACTION_ITEM.c.done_by_id,
        _ACTION_ITEM.c.done_at,
    )
    .where(_ACTION_ITEM.c.minutes_version_id.in_(bindparam("version_ids", expanding=True)))
    .order_by(_ACTION_ITEM.c.id)
)

# Reaching the municipality is delivery. RETURNING hands back what the response shows of the
# rows it changed; the page's own read holds the rest (read moments before, in this transaction).
_MARK_DELIVERED = (
    update(_DISTRIBUTION)
    .where(
        _DISTRIBUTION.c.minutes_version_id.in_(bindparam("version_ids", expanding=True)),
        _DISTRIBUTION.c.recipient_organisation_id == bindparam("municipality_id"),
        _DISTRIBUTION.c.status.in_([DistributionStatus.PENDING, DistributionStatus.SENT]),
    )
    .values(
        status=DistributionStatus.DELIVERED,
        delivered_at=bindparam("now", type_=UTCDateTime),
        sent_at=func.coalesce(_DISTRIBUTION.c.sent_at, bindparam("now", type_=UTCDateTime)),
    )
    .returning(
        _DISTRIBUTION.c.minutes_version_id,
        _DISTRIBUTION.c.status.label("distribution_status"),
        _DISTRIBUTION.c.legal_basis,
        _DISTRIBUTION.c.delivered_at,
        _DISTRIBUTION.c.acknowledged_at,
    )
)


def meeting_summaries(
    session: Session,
    p: Principal,
    code: str,
    *,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
    now: datetime | None = None,
    include_cpr: bool = False,
) -> SummaryPage:
    """Latest final minutes of the municipality's citizens that reached it, in change order.

    ``include_cpr`` adds each citizen's full CPR (the feed holds only the municipality's own
    citizens), each one noted in the patient's access log.

    Fetching marks the municipality's distribution of each returned summary delivered. Four
    statements whatever the page holds: the municipality, the page, its action items, and the
    delivery mark.
    """
    muni_id = _municipality_of(session, p, code)
    params: dict[str, Any] = {"municipality_id": muni_id, "page_limit": limit + 1}
    if cursor:
        params["after_xid"], params["after_seq"] = _feed_position(cursor)
    if updated_since is not None:
        params["updated_since"] = updated_since
    query = _summary_page_query(
        session.get_bind().dialect.name, after=bool(cursor), since=updated_since is not None
    )
    rows = session.execute(query, params).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items: dict[int, list[dict[str, Any]]] = {row.id: [] for row in rows}
    delivered: dict[int, Any] = {}
    if rows:
        version_ids = list(items)
        for i in session.execute(_SUMMARY_ACTION_ITEMS, {"version_ids": version_ids}):
            items[i.minutes_version_id].append(
                {
                    "id": i.id,
                    "description": i.description,
                    "responsible_organisation_id": i.responsible_organisation_id,
                    "person": i.person,
                    "due_date": i.due_date,
                    "status": i.status,
                    "done_by_id": i.done_by_id,
                    "done_at": i.done_at,
                    "assigned_to_you": i.responsible_organisation_id == muni_id,
                }
            )
        marked = session.execute(
            _MARK_DELIVERED,
            {"version_ids": version_ids, "municipality_id": muni_id, "now": now or utcnow()},
        )
        delivered = {d.minutes_version_id: d for d in marked}
    summaries = []
    for row in rows:
        audit.record(session, p, AuditAction.LIST, "meeting_summary", row.id, row.patient_id)
        dist = delivered.get(row.id, row)
        patient = {"id": row.patient_id, "name": row.patient_name, "cpr_masked": mask_cpr(row.cpr)}
        if include_cpr:
            patient["cpr"] = cpr_disclosure.disclose(session, p, row.patient_id, row.cpr)
        summaries.append(
            {
                "id": row.id,
                "meeting_id": row.meeting_id,
                "patient": patient,
                "version_no": row.version_no,
                "meeting_start": row.scheduled_start,
                "meeting_end": row.scheduled_end,
                "finalised_at": row.finalised_at,
                "changed_at": row.changed_at,
                "summary": row.summary,
                "decisions": row.decisions,
                "amendment_reason": row.amendment_reason,
                "action_items": items[row.id],
                "distribution": {
                    "status": dist.distribution_status,
                    "legal_basis": dist.legal_basis,
                    "delivered_at": dist.delivered_at,
                    "acknowledged_at": dist.acknowledged_at,
                },
            }
        )
    # Unlike other lists, the feed always hands back where the reader got to, also on the last
    # page: a polling integration resumes from it next time.
    resume = _encode([rows[-1].change_xid, rows[-1].change_seq]) if rows else cursor
    return SummaryPage(items=summaries, next_cursor=resume, has_more=has_more)


def acknowledge_summary(
    session: Session, p: Principal, summary_id: int, now: datetime | None = None
) -> Distribution:
    """The municipality acknowledges a summary it fetched."""
    if not p.has(Role.MUNICIPALITY) or p.municipality_id is None:
        raise Forbidden("only a municipality acknowledges meeting summaries")
    row = session.execute(
        select(Distribution, NetworkMeeting.patient_id)
        .join(MinutesVersion, MinutesVersion.id == Distribution.minutes_version_id)
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .where(
            Distribution.minutes_version_id == summary_id,
            Distribution.recipient_organisation_id == p.municipality_id,
            Distribution.status != DistributionStatus.BLOCKED,
            Patient.municipality_id == p.municipality_id,
        )
    ).one_or_none()
    if row is None:
        raise _not_found(session, p, "meeting_summary", summary_id, "meeting summary")
    dist, patient_id = row
    audit.record(session, p, AuditAction.UPDATE, "meeting_summary", summary_id, patient_id)
    return acknowledge_received(session, dist, now or utcnow())
