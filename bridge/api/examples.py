"""Examples of the payloads integrators read, shown in the spec (the municipality feed, the inbox,
acknowledgements, action items). Invented people; CPRs masked as the API sends them."""

from __future__ import annotations

from typing import Any

ACTION_ITEM: dict[str, Any] = {
    "id": 311,
    "description": "Kommunen bevilger praktisk hjælp to gange om ugen",
    "responsible_organisation_id": 12,
    "person": "Hjemmeplejen Nord",
    "due_date": "2026-03-16",
    "status": "done",
    "done_by_id": 57,
    "done_at": "2026-03-12T14:05:00+01:00",
}

MEETING_SUMMARY_PAGE: dict[str, Any] = {
    "items": [
        {
            "id": 904,
            "meeting_id": 877,
            "patient": {"id": 4021, "name": "Åse Ørnsø", "cpr_masked": "010190-xxxx"},
            "version_no": 1,
            "meeting_start": "2026-03-10T10:00:00+01:00",
            "meeting_end": "2026-03-10T11:00:00+01:00",
            "finalised_at": "2026-03-10T13:20:00+01:00",
            "changed_at": "2026-03-10T13:20:00+01:00",
            "summary": "Åse er udskrevet til eget hjem; medicinen er afstemt med egen læge.",
            "decisions": "Bostøtte tre gange om ugen; opfølgende netværksmøde om fire uger.",
            "amendment_reason": None,
            "action_items": [
                ACTION_ITEM
                | {"status": "open", "done_by_id": None, "done_at": None, "assigned_to_you": True}
            ],
            "distribution": {
                "status": "delivered",
                "legal_basis": "consent",
                "delivered_at": "2026-03-10T13:20:04+01:00",
                "acknowledged_at": None,
            },
        }
    ],
    "next_cursor": "eyJjIjoiMjAyNi0wMy0xMFQxMjoyMDowMCswMDowMCIsImkiOjkwNH0",
    "has_more": False,
}

INBOX_PAGE: dict[str, Any] = {
    "items": [
        {
            "id": 5120,
            "kind": "discharge",
            "status": "delivered",
            "created_at": "2026-03-09T08:42:00+01:00",
            "acknowledged_at": None,
            "patient_id": 4021,
            "patient_name": "Åse Ørnsø",
            "patient_cpr_masked": "010190-xxxx",
            "patient_cpr": None,
            "subject": "Udskrivelse: Åse Ørnsø",
            "body": "Åse Ørnsø udskrives fra Psykiatrisk Center Nord 9. marts kl. 12.",
            "link": "/api/v1/patients/4021",
            "ref": {"admission_id": 733},
        }
    ],
    "next_cursor": None,
}

ACKNOWLEDGED_NOTIFICATION: dict[str, Any] = {
    "id": 5120,
    "kind": "discharge",
    "channel": "inbox",
    "status": "acknowledged",
    "acknowledged_at": "2026-03-09T09:15:00+01:00",
    "last_error": None,
}

ACKNOWLEDGED_DISTRIBUTION: dict[str, Any] = {
    "id": 1290,
    "minutes_version_id": 904,
    "recipient_kind": "organisation",
    "recipient_organisation_id": 12,
    "recipient_relative_id": None,
    "recipient_staff_id": None,
    "recipient_role": "residence_municipality",
    "channel": "pull",
    "status": "acknowledged",
    "legal_basis": "consent",
    "blocked_reason": None,
    "created_at": "2026-03-10T13:20:00+01:00",
    "sent_at": "2026-03-10T13:20:02+01:00",
    "delivered_at": "2026-03-10T13:20:04+01:00",
    "acknowledged_at": "2026-03-11T08:01:00+01:00",
    "handed_over_at": None,
    "handed_over_to": None,
    "handover_method": None,
    "handed_over_by_id": None,
}
