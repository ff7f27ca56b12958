"""Helpers that drive a meeting through the API to the state a test needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def iso(moment: datetime) -> str:
    return moment.isoformat()


def past_slot(hours_ago: int = 3) -> dict[str, str]:
    start = datetime.now(UTC) - timedelta(hours=hours_ago)
    return {"scheduled_start": iso(start), "scheduled_end": iso(start + timedelta(hours=1))}


def org_participant(org_id: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "organisation", "organisation_id": org_id, "role": "participant", **extra}


def plan_meeting(nurse, patient_id: int, participants: list[dict] | None = None) -> dict:
    r = nurse.post(
        "/api/v1/meetings",
        json={
            "patient_id": patient_id,
            **past_slot(),
            "place": "Psykiatrisk Center",
            "agenda": "Fælles plan",
            "participants": participants or [],
        },
    )
    assert r.status_code == 201, r.json
    return r.json


def held_meeting(nurse, patient_id: int, participants: list[dict] | None = None) -> dict:
    meeting = plan_meeting(nurse, patient_id, participants)
    r = nurse.post(f"/api/v1/meetings/{meeting['id']}/hold", json={})
    assert r.status_code == 200, r.json
    return r.json


def draft_minutes(nurse, meeting_id: int, **body: Any) -> Any:
    r = nurse.post(
        f"/api/v1/meetings/{meeting_id}/minutes",
        json={"summary": "Status og plan", "decisions": "Tæt opfølgning", **body},
    )
    assert r.status_code == 201, r.json
    return r


def finalise(nurse, meeting_id: int, version_no: int = 1) -> dict:
    r = nurse.post(f"/api/v1/meetings/{meeting_id}/minutes/{version_no}/finalise")
    assert r.status_code == 200, r.json
    return r.json


def final_minutes(
    nurse, patient_id: int, participants: list[dict] | None = None, **body: Any
) -> tuple[dict, dict]:
    """A held meeting with finalised minutes version 1: (meeting, minutes)."""
    meeting = held_meeting(nurse, patient_id, participants)
    draft_minutes(nurse, meeting["id"], **body)
    return meeting, finalise(nurse, meeting["id"])


def distributions(nurse, meeting_id: int) -> list[dict]:
    r = nurse.get(f"/api/v1/meetings/{meeting_id}/distributions")
    assert r.status_code == 200, r.json
    return r.json
