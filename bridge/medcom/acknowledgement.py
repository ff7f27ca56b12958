"""Write the MedCom Acknowledgement (2.0.3) Bridge answers an inbound message with."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from bridge.adapters.fhir_resources import _echoed_provenance, _provenance_of
from bridge.domain.messaging.data import AckIssue, OrgIdent
from bridge.medcom.inbound import (
    ACTIVITY_SYSTEM,
    DESTINATION_USE_URL,
    EVENT_SYSTEM,
    GLN_SYSTEM,
    SOR_SYSTEM,
)

_ACK: Final = "http://medcomfhir.dk/ig/acknowledgement/StructureDefinition/"
_MSG: Final = "http://medcomfhir.dk/ig/messaging/StructureDefinition/"
BUNDLE_PROFILE: Final = _ACK + "medcom-messaging-acknowledgement"
HEADER_PROFILE: Final = _ACK + "medcom-messaging-acknowledgementHeader"
OUTCOME_PROFILE: Final = _ACK + "medcom-acknowledgement-operationoutcome"
PROVENANCE_PROFILE: Final = _MSG + "medcom-messaging-provenance"
ORGANIZATION_PROFILE: Final = _MSG + "medcom-messaging-organization"
DESTINATION_USE_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-destinationUse"
)
SOR_ENDPOINT: Final = "https://sor2.sum.dsdn.dk/#id="
MEDCOM_ERROR_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-acknowledgement-error-codes"
)
# The issue-details ValueSet takes these from FHIR's operation-outcome codes, under this system.
FHIR_ERROR_SYSTEM: Final = "http://hl7.org/fhir/ValueSet/operation-outcome"
MEDCOM_ERROR_CODES: Final = frozenset(
    {
        "MSG_Receiver_Identifier_UNKNOWN", "MSG_Receiver_Identifier_MISSING",
        "MSG_RECEIVER_UNABLE_TO_RECEIVE_MSG_TYPE", "MSG_VALUESET_VALUE_UNKNOWN",
        "MSG_CodeSystem_VALUE_UNKNOWN", "MSG_Element_To_Long", "MSG_Datatype_Wrong",
        "MSG_Mailbox_Out_Of_Operation", "MSG_Damaged_durin_transport",
    }
)  # fmt: skip
BASE: Final = "https://bridge.invalid/fhir"


def build_ack(
    *,
    acknowledged_header_id: str,
    sender: OrgIdent,
    receiver: OrgIdent,
    issue: AckIssue | None,
    now: datetime,
    acknowledged_message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Acknowledgement Bundle from ``sender`` (Bridge's address the message was sent to) to
    ``receiver`` (who sent it): ``ok`` when ``issue`` is None, else its error code.

    As in MedCom's examples it repeats the acknowledged message's own Provenance before its
    own (the same step as the acknowledgements the dispatcher's tests write, shared with
    ``bridge.adapters``); a message too broken to have one is answered without it."""
    when = now.isoformat(timespec="seconds")
    header_id, prov_id, outcome_id, sender_id, receiver_id = (str(uuid.uuid4()) for _ in range(5))
    code = "ok" if issue is None else issue.code
    response: dict[str, Any] = {"identifier": acknowledged_header_id, "code": code}
    sender_ref = {"reference": f"Organization/{sender_id}"}
    try:
        echoed = [
            _echoed_provenance(
                prov, acknowledged_header_id, {"reference": f"Organization/{receiver_id}"}
            )
            for prov in _provenance_of(acknowledged_message, acknowledged_header_id)
        ]
    except ValueError:
        echoed = []
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "MessageHeader",
            "id": header_id,
            "meta": {"profile": [HEADER_PROFILE]},
            "eventCoding": {"system": EVENT_SYSTEM, "code": "acknowledgement-message"},
            "destination": [
                {
                    "extension": [
                        {
                            "url": DESTINATION_USE_URL,
                            "valueCoding": {"system": DESTINATION_USE_SYSTEM, "code": "primary"},
                        }
                    ],
                    "endpoint": SOR_ENDPOINT + str(receiver.sor_code),
                    "receiver": {"reference": f"Organization/{receiver_id}"},
                }
            ],
            "sender": sender_ref,
            "source": {"endpoint": SOR_ENDPOINT + str(sender.sor_code)},
            "response": response,
        },
        *echoed,
        {
            "resourceType": "Provenance",
            "id": prov_id,
            "meta": {"profile": [PROVENANCE_PROFILE]},
            "target": [{"reference": f"MessageHeader/{header_id}"}],
            "occurredDateTime": when,
            "recorded": when,
            "activity": {"coding": [{"system": ACTIVITY_SYSTEM, "code": "acknowledgement"}]},
            "agent": [{"who": sender_ref}],
            "entity": [
                {
                    "role": "revision",
                    "what": {"reference": f"MessageHeader/{acknowledged_header_id}"},
                }
            ],
        },
        _organization(sender_id, sender),
        _organization(receiver_id, receiver),
    ]
    if issue is not None:
        response["details"] = {"reference": f"OperationOutcome/{outcome_id}"}
        details: dict[str, Any] = {"text": issue.text}
        if issue.error_code:
            system = (
                MEDCOM_ERROR_SYSTEM if issue.error_code in MEDCOM_ERROR_CODES else FHIR_ERROR_SYSTEM
            )
            details["coding"] = [{"system": system, "code": issue.error_code}]
        resources.append(
            {
                "resourceType": "OperationOutcome",
                "id": outcome_id,
                "meta": {"profile": [OUTCOME_PROFILE]},
                "issue": [{"severity": "error", "code": issue.issue_type, "details": details}],
            }
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [BUNDLE_PROFILE]},
        "type": "message",
        "timestamp": when,
        "entry": [
            {"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }


def _organization(org_id: str, org: OrgIdent) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = []
    if org.gln:
        identifiers.append({"system": GLN_SYSTEM, "value": org.gln})
    identifiers.append({"system": SOR_SYSTEM, "value": org.sor_code})
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": org_id,
        "meta": {"profile": [ORGANIZATION_PROFILE]},
        "identifier": identifiers,
    }
    if org.name:
        resource["name"] = org.name
    return resource
