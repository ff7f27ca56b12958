"""What other organisations do with final minutes: municipalities pull summaries, recipients
acknowledge them, responsible organisations mark their action items done."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify
from flask.views import MethodView
from marshmallow import fields, validate

from bridge.api import examples
from bridge.api.contract import Blueprint
from bridge.api.http import current_principal
from bridge.api.meetings import ActionItemSchema, DistributionSchema
from bridge.api.schemas import (
    CopenhagenDateTime,
    Day,
    Id,
    PageArgsSchema,
    StrictSchema,
    copenhagen_iso,
    text,
)
from bridge.domain.meetings import action_items as action_items_service
from bridge.domain.meetings import distribution_status, ledger, summary_feed
from bridge.domain.meetings.models import ActionItemStatus, HandoverMethod
from bridge.extensions import db

URL_PREFIX = ""
blp = Blueprint(
    "meeting_summaries",
    __name__,
    description="Meeting summaries for municipalities, acknowledgements and action items",
)


class SummaryArgsSchema(PageArgsSchema):
    updated_since = CopenhagenDateTime(load_default=None)
    include = fields.String(
        load_default=None,
        validate=validate.OneOf(["cpr"]),
        metadata={"description": "cpr: each citizen's full CPR (each disclosure is audited)"},
    )


class SummaryPatientSchema(StrictSchema):
    id = Id()
    name = fields.String()
    cpr_masked = fields.String()
    cpr = fields.String(metadata={"description": "the full CPR, only with ?include=cpr"})


class SummaryDistributionSchema(StrictSchema):
    status = fields.String()
    legal_basis = fields.String()
    delivered_at = CopenhagenDateTime(allow_none=True)
    acknowledged_at = CopenhagenDateTime(allow_none=True)


class SummaryActionItemSchema(StrictSchema):
    """An action item as the municipality feed shows it: what, who, by when, and whether it is
    your organisation's to do."""

    id = Id(metadata={"description": "for PATCH /action-items/{item_id}"})
    description = fields.String()
    responsible_organisation_id = Id(allow_none=True)
    person = fields.String(allow_none=True)
    due_date = Day(allow_none=True)
    status = fields.Enum(ActionItemStatus, by_value=True)
    done_by_id = Id(allow_none=True)
    done_at = CopenhagenDateTime(allow_none=True)
    assigned_to_you = fields.Boolean(
        metadata={"description": "your organisation is the one responsible for it"}
    )


class MeetingSummarySchema(StrictSchema):
    id = Id(metadata={"description": "the summary (minutes version) id, for ack"})
    meeting_id = Id()
    patient = fields.Nested(SummaryPatientSchema)
    version_no = fields.Integer()
    meeting_start = CopenhagenDateTime(allow_none=True)
    meeting_end = CopenhagenDateTime(allow_none=True)
    finalised_at = CopenhagenDateTime()
    changed_at = CopenhagenDateTime()
    summary = fields.String()
    decisions = fields.String()
    amendment_reason = fields.String(allow_none=True)
    action_items = fields.List(fields.Nested(SummaryActionItemSchema))
    distribution = fields.Nested(SummaryDistributionSchema)


class MeetingSummaryPageSchema(StrictSchema):
    items = fields.List(fields.Nested(MeetingSummarySchema), required=True)
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "where this read ended; keep it and poll with it next time"},
    )
    has_more = fields.Boolean(metadata={"description": "more changes wait: read on at once"})


def _date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _summary_json(summary: dict[str, Any]) -> dict[str, Any]:
    dist = summary["distribution"]
    return {
        "id": summary["id"],
        "meeting_id": summary["meeting_id"],
        "patient": summary["patient"],
        "version_no": summary["version_no"],
        "meeting_start": copenhagen_iso(summary["meeting_start"]),
        "meeting_end": copenhagen_iso(summary["meeting_end"]),
        "finalised_at": copenhagen_iso(summary["finalised_at"]),
        "changed_at": copenhagen_iso(summary["changed_at"]),
        "summary": summary["summary"],
        "decisions": summary["decisions"],
        "amendment_reason": summary["amendment_reason"],
        "action_items": [
            {
                "id": item["id"],
                "description": item["description"],
                "responsible_organisation_id": item["responsible_organisation_id"],
                "person": item["person"],
                "due_date": _date(item["due_date"]),
                "status": str(item["status"]),
                "done_by_id": item["done_by_id"],
                "done_at": copenhagen_iso(item["done_at"]),
                "assigned_to_you": item["assigned_to_you"],
            }
            for item in summary["action_items"]
        ],
        "distribution": {
            "status": str(dist["status"]),
            "legal_basis": dist["legal_basis"],
            "delivered_at": copenhagen_iso(dist["delivered_at"]),
            "acknowledged_at": copenhagen_iso(dist["acknowledged_at"]),
        },
    }


def summary_page_json(page: summary_feed.SummaryPage) -> dict[str, Any]:
    """What ``MeetingSummaryPageSchema().dump(page)`` gives, written out directly."""
    return {
        "items": [_summary_json(s) for s in page.items],
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }


class ActionItemPatchSchema(StrictSchema):
    status = fields.Enum(ActionItemStatus, by_value=True, required=True)


@blp.route("/municipalities/<string(maxlength=8):code>/meeting-summaries")
class MeetingSummaries(MethodView):
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, MeetingSummaryPageSchema, example=examples.MEETING_SUMMARY_PAGE)
    def get(self, args: dict[str, Any], code: str) -> Any:
        """Final minutes of your citizens, in change order, for incremental sync (municipality)

        The municipality's feed of network meetings about its citizens: each final version of the
        minutes (summary, decisions, action items) once, in the order they changed. Keep
        `next_cursor` and poll with it; `has_more` says to read on at once. An amendment comes
        again as a new version with its reason. Acknowledge each summary you have taken in with
        POST /meeting-summaries/{id}/ack; mark your organisation's action items done with
        PATCH /action-items/{id}."""
        page = summary_feed.meeting_summaries(
            db.session(),
            current_principal(),
            code,
            cursor=args["cursor"],
            limit=args["limit"],
            updated_since=args["updated_since"],
            include_cpr=args["include"] == "cpr",
        )
        # The schema documents the page; writing it out is done by hand, since marshmallow's
        # dump of a page of nested summaries took longer than reading it from the database.
        return jsonify(summary_page_json(page))


@blp.route("/meeting-summaries/<int:summary_id>/ack")
class MeetingSummaryAck(MethodView):
    @blp.response(200, DistributionSchema, example=examples.ACKNOWLEDGED_DISTRIBUTION)
    def post(self, summary_id: int) -> Any:
        """Acknowledge a summary you fetched (municipality)

        Tells the bridge nurse the municipality has the minutes; the distribution row answers with
        its `acknowledged_at`. Acknowledging again changes nothing."""
        return summary_feed.acknowledge_summary(db.session(), current_principal(), summary_id)


@blp.route("/distributions/<int:distribution_id>/ack")
class DistributionAck(MethodView):
    @blp.response(200, DistributionSchema, example=examples.ACKNOWLEDGED_DISTRIBUTION)
    def post(self, distribution_id: int) -> Any:
        """Acknowledge minutes your organisation received (GP, municipality, hospital)

        The receipt the nurse's distribution list shows for your organisation's copy."""
        return distribution_status.acknowledge_distribution(
            db.session(), current_principal(), distribution_id
        )


class HandoverSchema(StrictSchema):
    handed_over_at = CopenhagenDateTime(metadata={"description": "defaults to now"})
    handed_over_to = text(200, required=True)
    method = fields.Enum(HandoverMethod, by_value=True, required=True)


class ReleaseSchema(StrictSchema):
    basis = fields.String(
        load_default=ledger.BASIS_CONSENT,
        validate=validate.OneOf([ledger.BASIS_CONSENT, ledger.BASIS_TREATING]),
        metadata={
            "description": "consent: the patient's consents as recorded now; "
            "treating_health_care: the municipality took part as treating health-care staff"
        },
    )


@blp.route("/distributions/<int:distribution_id>/handover")
class DistributionHandover(MethodView):
    @blp.arguments(HandoverSchema)
    @blp.response(200, DistributionSchema)
    def post(self, data: dict[str, Any], distribution_id: int) -> Any:
        """Record that a manual copy was handed over: when, to whom, how (nurse)"""
        return ledger.record_handover(db.session(), current_principal(), distribution_id, data)


@blp.route("/distributions/<int:distribution_id>/release")
class DistributionRelease(MethodView):
    @blp.arguments(ReleaseSchema)
    @blp.response(200, DistributionSchema)
    def post(self, data: dict[str, Any], distribution_id: int) -> Any:
        """Deliver a row blocked for lack of consent, now that a legal basis is recorded (nurse)"""
        return ledger.release_distribution(
            db.session(), current_principal(), distribution_id, data["basis"]
        )


@blp.route("/action-items/<int:item_id>")
class ActionItemById(MethodView):
    @blp.arguments(ActionItemPatchSchema, example={"status": "done"})
    @blp.response(200, ActionItemSchema, example=examples.ACTION_ITEM)
    def patch(self, data: dict[str, Any], item_id: int) -> Any:
        """Mark an action item done or open (its responsible organisation, the nurse)

        The organisation an action item was given to reports it done (or open again); the nurse
        sees who did it and when. If-Match is not required here."""
        return action_items_service.update_action_item(
            db.session(), current_principal(), item_id, data["status"]
        )
