"""The FHIR resources and checks both MedCom messages are made of (patient, organisation,
narrative, the validated Bundle).
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from bridge.adapters.fhir_profiles import (
    _CONTROL_RE,
    _FHIR_ID_RE,
    _XHTML_NS,
    ACK_PROFILES,
    ACTIVITY_CODE_SYSTEM,
    CPR_SYSTEM,
    DESTINATION_USE_EXTENSION,
    DESTINATION_USE_SYSTEM,
    GLN_SYSTEM,
    PROFILES,
    SOR_ENDPOINT_PREFIX,
    SOR_SYSTEM,
)
from bridge.domain.identifiers import validate_gln, validate_sor_code
from bridge.domain.notifications.messages import OrganisationRef

# --- helpers ----------------------------------------------------------------------------------


def _provenance_of(bundle: dict[str, Any] | None, header_id: str) -> list[dict[str, Any]]:
    """The Provenance entries of a received message that are about its MessageHeader."""
    if not isinstance(bundle, dict):
        return []
    found = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Provenance":
            continue
        targets = [t.get("reference", "") for t in resource.get("target") or []]
        if any(t.endswith(f"MessageHeader/{header_id}") for t in targets):
            found.append(resource)
    return found


def _echoed_provenance(
    original: dict[str, Any], header_id: str, agent: dict[str, str]
) -> dict[str, Any]:
    """A copy of the acknowledged message's Provenance for the acknowledgement Bundle."""
    provenance_id = str(uuid.uuid4())
    activity = ((original.get("activity") or {}).get("coding") or [{}])[0]
    code = activity.get("code") if activity.get("system") == ACTIVITY_CODE_SYSTEM else None
    if not code:
        raise ValueError("the acknowledged message's Provenance has no MedCom activity code")
    occurred = original.get("occurredDateTime") or original.get("recorded")
    recorded = original.get("recorded") or occurred
    if not occurred:
        raise ValueError("the acknowledged message's Provenance has no time")
    return {
        "resourceType": "Provenance",
        "id": provenance_id,
        "meta": {"profile": [ACK_PROFILES["Provenance"]]},
        "text": _narrative(_p("Aktivitet", code), _p("Tidspunkt", str(occurred))),
        "target": [{"reference": f"MessageHeader/{header_id}"}],
        "occurredDateTime": occurred,
        "recorded": recorded,
        "activity": {"coding": [{"system": ACTIVITY_CODE_SYSTEM, "code": code}]},
        "agent": [{"who": agent}],
    }


def _check_fhir_id(value: str, what: str) -> None:
    if not isinstance(value, str) or not _FHIR_ID_RE.fullmatch(value):
        raise ValueError(f"{what} must be a FHIR id (1-64 of A-Z a-z 0-9 - .), not {value!r}")


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value


def _fhir_datetime(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _clean_text(value: str) -> str:
    # Word's soft line break (\v) and form feed become newlines; other control characters go.
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n").replace("\f", "\n")
    return _CONTROL_RE.sub("", text)


def _checked_org(org: OrganisationRef, what: str) -> OrganisationRef:
    if not org.name or not org.name.strip():
        raise ValueError(f"{what} organisation has no name")
    if not org.sor_code or not org.gln:
        raise ValueError(
            f"{what} organisation {org.name!r} needs both a SOR code and a GLN for MedCom messaging"
        )
    try:
        sor, gln = validate_sor_code(org.sor_code), validate_gln(org.gln)
    except ValueError as exc:
        raise ValueError(f"{what} organisation {org.name!r}: {exc}") from exc
    return OrganisationRef(name=org.name.strip(), sor_code=sor, gln=gln)


def _escape_lines(text: str) -> str:
    return "<br/>".join(html.escape(line) for line in text.split("\n"))


def _p(label: str, value: str) -> str:
    return f"<p><b>{html.escape(label)}</b>: {_escape_lines(value)}</p>"


def _div(parts: list[str]) -> str:
    return f'<div xmlns="{_XHTML_NS}">{"".join(parts)}</div>'


def _narrative(*parts: str) -> dict[str, str]:
    return {"status": "generated", "div": _div(list(parts))}


def _human_name(full_name: str, *, official: bool) -> dict[str, Any]:
    *given, family = full_name.split()
    name: dict[str, Any] = {"family": family}
    if given:
        name["given"] = given
    return {"use": "official", **name} if official else name


def _patient(patient_id: str, cpr: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "meta": {"profile": [PROFILES["Patient"]]},
        "text": _narrative(_p("Navn", name), _p("CPR", cpr)),
        "identifier": [{"system": CPR_SYSTEM, "value": cpr}],
        "name": [_human_name(name, official=True)],
    }


def _organization(org_id: str, org: OrganisationRef, profile: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": org_id,
        "meta": {"profile": [profile]},
        "text": _narrative(
            _p("Navn", org.name), _p("SOR", str(org.sor_code)), _p("GLN", str(org.gln))
        ),
        "identifier": [
            {"system": GLN_SYSTEM, "value": org.gln},
            {"system": SOR_SYSTEM, "value": org.sor_code},
        ],
        "name": org.name,
    }


def _destination(receiver: OrganisationRef, receiver_id: str) -> dict[str, Any]:
    return {
        "extension": [
            {
                "url": DESTINATION_USE_EXTENSION,
                "valueCoding": {"system": DESTINATION_USE_SYSTEM, "code": "primary"},
            }
        ],
        "endpoint": SOR_ENDPOINT_PREFIX + str(receiver.sor_code),
        "receiver": {"reference": f"Organization/{receiver_id}"},
    }


def _validated_bundle(
    bundle_id: str,
    profile: str,
    timestamp: str,
    resources: list[dict[str, Any]],
    full_url_base: str,
) -> dict[str, Any]:
    base = full_url_base.rstrip("/")
    raw = {
        "resourceType": "Bundle",
        "id": bundle_id,
        "meta": {"profile": [profile]},
        "type": "message",
        "timestamp": timestamp,
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }
    return Bundle.model_validate(raw).model_dump(mode="json")


def _find_outcome(entries: list[dict[str, Any]], reference: str | None) -> dict[str, Any] | None:
    outcomes = [
        (e.get("fullUrl") or "", e["resource"])
        for e in entries
        if (e.get("resource") or {}).get("resourceType") == "OperationOutcome"
    ]
    if reference:
        for full_url, resource in outcomes:
            if reference in (full_url, f"OperationOutcome/{resource.get('id')}") or (
                full_url.endswith("/" + reference)
            ):
                return resource
    return outcomes[0][1] if outcomes else None


def _outcome_text(outcome: dict[str, Any]) -> str | None:
    reasons = []
    for issue in outcome.get("issue") or []:
        details = issue.get("details") or {}
        codings = details.get("coding") or []
        text = (
            details.get("text")
            or issue.get("diagnostics")
            or next((c["display"] for c in codings if c.get("display")), None)
            or next((c["code"] for c in codings if c.get("code")), None)
        )
        if text:
            reasons.append(text)
    return "; ".join(reasons) or None
