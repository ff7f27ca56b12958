"""A patient's course: their stays, and everything on one timeline."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields

from bridge.api.admissions import AdmissionSchema
from bridge.api.contract import Blueprint
from bridge.api.http import current_principal
from bridge.api.schemas import CopenhagenDateTime, Id, StrictSchema
from bridge.domain.care import admissions as admissions_service
from bridge.domain.timeline import patient_timeline
from bridge.extensions import db

URL_PREFIX = "/patients"
blp = Blueprint("patient_course", __name__, description="A patient's stays and timeline")


class TimelineItemSchema(StrictSchema):
    type = fields.String()
    at = CopenhagenDateTime()
    title = fields.String()
    status = fields.String(allow_none=True)
    resource = fields.String(metadata={"description": "the kind of resource the item links to"})
    resource_id = Id()
    overdue = fields.Boolean()


@blp.route("/<int:patient_id>/admissions")
class PatientAdmissions(MethodView):
    @blp.response(200, AdmissionSchema(many=True))
    def get(self, patient_id: int) -> Any:
        """List the patient's stays, newest first"""
        return admissions_service.list_patient_admissions(
            db.session(), current_principal(), patient_id
        )


@blp.route("/<int:patient_id>/timeline")
class PatientTimeline(MethodView):
    @blp.response(200, TimelineItemSchema(many=True))
    def get(self, patient_id: int) -> Any:
        """The patient's course in time order: stays, plans, tasks, consents, courses, ..."""
        return patient_timeline(db.session(), current_principal(), patient_id)
