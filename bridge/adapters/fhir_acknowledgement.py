"""Write and read MedCom Acknowledgement Bundles (FHIR R4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from bridge.adapters.fhir_profiles import (
    ACK_CODES,
    ACK_PROFILES,
    ACKNOWLEDGEMENT_EVENT,
    ACTIVITY_CODE_SYSTEM,
    DEFAULT_FULL_URL_BASE,
    EVENT_CODE_SYSTEM,
    SOR_ENDPOINT_PREFIX,
)
from bridge.adapters.fhir_resources import (
    _aware,
    _check_fhir_id,
    _checked_org,
    _clean_text,
    _destination,
    _echoed_provenance,
    _fhir_datetime,
    _find_outcome,
    _narrative,
    _organization,
    _outcome_text,
    _p,
    _provenance_of,
    _validated_bundle,
)
from bridge.domain.notifications.messages import Acknowledgement, OrganisationRef


def build_acknowledgement(
    for_header_id: str,
    code: str,
    sender: OrganisationRef,
    receiver: OrganisationRef,
    detail: str | None = None,
    *,
    timestamp: datetime | None = None,
    full_url_base: str = DEFAULT_FULL_URL_BASE,
    acknowledged_message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a validated MedCom Acknowledgement answering the message with ``for_header_id``.

    ``acknowledged_message`` is the received Bundle: as in MedCom's examples, the
    acknowledgement then repeats that message's own Provenance (what happened to it, by whom)
    before its own, with the agent pointing at the message's sender (this answer's receiver).
    """
    _check_fhir_id(for_header_id, "for_header_id")
    if code not in ACK_CODES:
        raise ValueError(f"acknowledgement code must be one of {sorted(ACK_CODES)}, not {code!r}")
    if code == "ok" and detail:
        raise ValueError("an 'ok' acknowledgement carries no detail; use an error code")
    sender = _checked_org(sender, "sender")
    receiver = _checked_org(receiver, "receiver")
    when = _fhir_datetime(_aware(timestamp, "timestamp") if timestamp else datetime.now(UTC))
    header_id, provenance_id, outcome_id = (str(uuid.uuid4()) for _ in range(3))
    sender_id, receiver_id = str(uuid.uuid4()), str(uuid.uuid4())
    sender_ref = {"reference": f"Organization/{sender_id}"}
    receiver_ref = {"reference": f"Organization/{receiver_id}"}
    echoed = [
        _echoed_provenance(p, for_header_id, receiver_ref)
        for p in _provenance_of(acknowledged_message, for_header_id)
    ]

    response: dict[str, Any] = {"identifier": for_header_id, "code": code}
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "MessageHeader",
            "id": header_id,
            "meta": {"profile": [ACK_PROFILES["MessageHeader"]]},
            "text": _narrative(
                _p("Meddelelse", "Kvittering (acknowledgement-message)"),
                _p("Svar på", for_header_id),
                _p("Resultat", code),
                _p("Afsender", f"{sender.name} (SOR {sender.sor_code})"),
                _p("Modtager", f"{receiver.name} (SOR {receiver.sor_code})"),
            ),
            "eventCoding": {"system": EVENT_CODE_SYSTEM, "code": ACKNOWLEDGEMENT_EVENT},
            "destination": [_destination(receiver, receiver_id)],
            "sender": sender_ref,
            "source": {"endpoint": SOR_ENDPOINT_PREFIX + str(sender.sor_code)},
            "response": response,
        },
        *echoed,
        {
            "resourceType": "Provenance",
            "id": provenance_id,
            "meta": {"profile": [ACK_PROFILES["Provenance"]]},
            "text": _narrative(
                _p("Aktivitet", "Kvittering (acknowledgement)"),
                _p("Tidspunkt", when),
                _p("Ansvarlig", sender.name),
            ),
            "target": [{"reference": f"MessageHeader/{header_id}"}],
            "occurredDateTime": when,
            "recorded": when,
            "activity": {"coding": [{"system": ACTIVITY_CODE_SYSTEM, "code": "acknowledgement"}]},
            "agent": [{"who": sender_ref}],
            "entity": [
                {"role": "revision", "what": {"reference": f"MessageHeader/{for_header_id}"}}
            ],
        },
        _organization(sender_id, sender, ACK_PROFILES["Organization"]),
        _organization(receiver_id, receiver, ACK_PROFILES["Organization"]),
    ]
    if code != "ok":
        reason = _clean_text(detail).strip() if detail else ""
        reason = reason or (
            "Midlertidig fejl; send igen" if code == "transient-error" else "Meddelelsen afvist"
        )
        response["details"] = {"reference": f"OperationOutcome/{outcome_id}"}
        resources.append(
            {
                "resourceType": "OperationOutcome",
                "id": outcome_id,
                "meta": {"profile": [ACK_PROFILES["OperationOutcome"]]},
                "text": _narrative(_p("Fejl", reason)),
                "issue": [
                    {
                        "severity": "error",
                        "code": "transient" if code == "transient-error" else "processing",
                        "details": {"text": reason},
                    }
                ],
            }
        )
    return _validated_bundle(
        str(uuid.uuid4()), ACK_PROFILES["Bundle"], when, resources, full_url_base
    )


def parse_acknowledgement(bundle: dict[str, Any]) -> Acknowledgement:
    """Read a MedCom Acknowledgement Bundle; ``ValueError`` if it is not one."""
    if not isinstance(bundle, dict):
        raise ValueError("acknowledgement must be a JSON object (a FHIR Bundle)")
    if bundle.get("resourceType") != "Bundle":
        raise ValueError(f"not an acknowledgement: resourceType is {bundle.get('resourceType')!r}")
    try:
        data = Bundle.model_validate(bundle).model_dump(mode="json")
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ValueError(f"not an acknowledgement: invalid FHIR R4 Bundle: {exc}") from exc
    if data.get("type") != "message":
        raise ValueError(f"not an acknowledgement: Bundle.type is {data.get('type')!r}")
    entries = data.get("entry") or []
    header = entries[0].get("resource") if entries else None
    if not header or header.get("resourceType") != "MessageHeader":
        raise ValueError("not an acknowledgement: the first entry is not a MessageHeader")
    event = header.get("eventCoding") or {}
    if (event.get("system"), event.get("code")) != (EVENT_CODE_SYSTEM, ACKNOWLEDGEMENT_EVENT):
        raise ValueError(
            "not an acknowledgement: MessageHeader event is "
            f"{event.get('system')}#{event.get('code')}, expected "
            f"{EVENT_CODE_SYSTEM}#{ACKNOWLEDGEMENT_EVENT}"
        )
    response = header.get("response")
    if not response:
        raise ValueError("not an acknowledgement: MessageHeader.response is missing")
    code = response.get("code")
    if code not in ACK_CODES:
        raise ValueError(f"acknowledgement has unknown response code {code!r}")
    acknowledged = response.get("identifier")
    if not acknowledged:
        raise ValueError("acknowledgement names no message (MessageHeader.response.identifier)")
    outcome = _find_outcome(entries, (response.get("details") or {}).get("reference"))
    return Acknowledgement(
        acknowledged_message_header_id=acknowledged,
        code=code,
        detail=_outcome_text(outcome) if outcome else None,
    )
