"""Readable, translated names for the domain's enum values (the values stay English in data)."""

from __future__ import annotations

from flask_babel import gettext as _


def _N(text: str) -> str:
    """Mark a text for the catalogue; it is translated when shown."""
    return text


LABELS: dict[str, dict[str, str]] = {
    "sex": {"male": _N("Male"), "female": _N("Female")},
    "patient_status": {
        "active": _N("Active"),
        "inactive": _N("Inactive"),
        "deceased": _N("Deceased"),
    },
    "care_team_role": {
        "psychiatry": _N("Psychiatry"),
        "somatic": _N("Somatic care"),
        "municipality": _N("Municipality"),
        "gp": _N("GP"),
        "practising_psychiatrist": _N("Practising psychiatrist"),
        "housing": _N("Housing"),
        "other": _N("Other"),
    },
    "consent_scope": {
        "minutes": _N("Meeting minutes"),
        "discharge": _N("Discharge information"),
        "all": _N("Everything"),
    },
    "organisation_kind": {
        "region": _N("Region"),
        "municipality": _N("Municipality"),
        "hospital": _N("Hospital"),
        "hospital_department": _N("Hospital department"),
        "gp_practice": _N("GP practice"),
        "specialist_practice": _N("Specialist practice"),
        "social_psychiatry_facility": _N("Social psychiatry facility"),
    },
    "audit_action": {
        "read": _N("Read"),
        "list": _N("Listed"),
        "search": _N("Searched"),
        "create": _N("Created"),
        "update": _N("Changed"),
        "delete": _N("Deleted"),
    },
    "audit_outcome": {
        "ok": _N("OK"),
        "not_found": _N("Not found"),
        "forbidden": _N("Refused"),
        "rejected": _N("Rejected"),
    },
    "meeting_status": {
        "requested": _N("Requested"),
        "planned": _N("Planned"),
        "held": _N("Held"),
        "cancelled": _N("Cancelled"),
    },
    "minutes_status": {"draft": _N("Draft"), "final": _N("Final")},
    "distribution_status": {
        "pending": _N("Waiting to be sent"),
        "sent": _N("Sent"),
        "delivered": _N("Delivered"),
        "acknowledged": _N("Acknowledged"),
        "blocked": _N("Blocked"),
    },
    "recipient_role": {
        "gp": _N("GP"),
        "residence_municipality": _N("Municipality of residence"),
        "participant": _N("Participant"),
        "nurse": _N("Bridge nurse"),
    },
    "channel": {
        "medcom": _N("MedCom message"),
        "pull": _N("Collected by the municipality"),
        "internal": _N("In Bridge"),
        "manual": _N("Handed over by the nurse"),
    },
    "specialty": {"psychiatry": _N("Psychiatry"), "somatic": _N("Somatic care")},
    "destination": {
        "home": _N("Home"),
        "housing_facility": _N("Housing facility"),
        "other_hospital": _N("Another hospital"),
        "deceased": _N("Deceased"),
    },
    "follow_up_status": {
        "open": _N("Open"),
        "done": _N("Done"),
        "cancelled": _N("Cancelled"),
    },
    "responsible_kind": {
        "nurse": _N("Bridge nurse"),
        "municipality": _N("Municipality"),
        "gp": _N("GP"),
        "hospital": _N("Hospital"),
        "practising_psychiatrist": _N("Practising psychiatrist"),
    },
    "flag_status": {
        "open": _N("Open"),
        "acknowledged": _N("Acknowledged"),
        "snoozed": _N("Snoozed"),
        "resolved": _N("Resolved"),
    },
    "action_item_status": {"open": _N("Open"), "done": _N("Done"), "cancelled": _N("Cancelled")},
    "handover_method": {
        "in_person": _N("In person"),
        "post": _N("By post"),
        "other": _N("Otherwise"),
    },
    "urgency": {"normal": _N("Normal"), "urgent": _N("Urgent")},
    "resource": {
        "patient": _N("Patient"),
        "patient_cpr": _N("Full CPR number"),
        "relative": _N("Relatives"),
        "diagnosis": _N("Diagnoses"),
        "care_team": _N("Care team"),
        "enrollment": _N("Course"),
        "consent": _N("Consents"),
        "access_log": _N("Access log"),
        # Resource kinds written by the other areas, so the access log shows no code names.
        "admission": _N("Admission"),
        "follow_up": _N("Follow-up task"),
        "network_meeting": _N("Network meeting"),
        "meeting_summary": _N("Meeting summary"),
        "minutes_version": _N("Minutes"),
        "action_item": _N("Action item"),
        "distribution": _N("Distribution of minutes"),
        "notification": _N("Message"),
        "flag": _N("Flag"),
        "somatic_screening": _N("Somatic screening"),
        "statutory_plan": _N("Statutory plan"),
        "timeline": _N("Timeline"),
    },
}


def label(group: str, value: object) -> str:
    """The translated label of ``value`` in ``group``, or the value itself if it has none."""
    key = getattr(value, "value", value)
    text = LABELS.get(group, {}).get(str(key))
    return _(text) if text else str(key)
