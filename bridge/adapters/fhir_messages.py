"""MedCom FHIR messages: build CareCommunication bundles and read/write Acknowledgements.

Follows the MedCom examples for CareCommunication 5.0.2 and Acknowledgement 2.0.3, which are
FHIR R4 (4.0.1).  The models come from ``fhir.resources.R4B``: fhir.resources 8 defaults to R5,
whose MessageHeader has no ``destination.endpoint``/``source.endpoint`` uri and types
``response.identifier`` as an Identifier, so R5 rejects every MedCom message; R4B keeps the R4
shape of the resources used here (MedCom's examples round-trip through it unchanged).

fhir.resources checks structure, cardinality, data types and id/dateTime patterns; it does not
check codes against value sets or MedCom profile invariants, so this module keeps to MedCom's
codes itself.  Pure Python, no web framework.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from fhir.resources.R4B.bundle import Bundle

from bridge.domain.identifiers import parse_cpr, validate_gln, validate_sor_code

# --- MedCom systems and profiles (as used by the published examples) -------------------------

EVENT_CODE_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes"
)
CARE_COMMUNICATION_EVENT: Final = "care-communication-message"
ACKNOWLEDGEMENT_EVENT: Final = "acknowledgement-message"
CATEGORY_CODE_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-careCommunication-categoryCodes"
)
ACTIVITY_CODE_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes"
)
DESTINATION_USE_EXTENSION: Final = (
    "http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-destinationUseExtension"
)
DESTINATION_USE_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-destinationUse"
)
PRACTITIONER_ROLE_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-core-PractitionerRolesSKSadministrativ"
)
SOR_SYSTEM: Final = "urn:oid:1.2.208.176.1.1"
GLN_SYSTEM: Final = "https://www.gs1.org/gln"
CPR_SYSTEM: Final = "urn:oid:1.2.208.176.1.2"
SOR_ENDPOINT_PREFIX: Final = "https://sor2.sum.dsdn.dk/#id="
CARE_COMMUNICATION_DEFINITION: Final = (
    "http://medcomfhir.dk/ig/messagedefinitions/MessageDefinition/"
    "MedComCareCommunicationMessageDefinition|5.0"
)

_EXT_DATETIME: Final = (
    "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-datetime-extension"
)
_EXT_IDENTIFIER: Final = (
    "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-identifier-extension"
)
_EXT_PRACTITIONER: Final = (
    "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-practitioner-extension"
)
_EXT_CONTACT: Final = (
    "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-contact-extension"
)

_CC: Final = "http://medcomfhir.dk/ig/carecommunication/StructureDefinition/"
_ACK: Final = "http://medcomfhir.dk/ig/acknowledgement/StructureDefinition/"
_CORE: Final = "http://medcomfhir.dk/ig/core/StructureDefinition/"
_MSG: Final = "http://medcomfhir.dk/ig/messaging/StructureDefinition/"

PROFILES: Final[dict[str, str]] = {
    "Bundle": _CC + "medcom-careCommunication-message",
    "MessageHeader": _CC + "medcom-careCommunication-messageHeader",
    "Communication": _CC + "medcom-careCommunication-communication",
    "Provenance": _CC + "medcom-careCommunication-provenance",
    "Patient": _CORE + "medcom-core-patient",
    "Practitioner": _CORE + "medcom-core-practitioner",
    "PractitionerRole": _CORE + "medcom-core-practitionerrole",
    "Organization": _MSG + "medcom-messaging-organization",
}
ACK_PROFILES: Final[dict[str, str]] = {
    "Bundle": _ACK + "medcom-messaging-acknowledgement",
    "MessageHeader": _ACK + "medcom-messaging-acknowledgementHeader",
    "OperationOutcome": _ACK + "medcom-acknowledgement-operationoutcome",
    "Provenance": _MSG + "medcom-messaging-provenance",
    "Organization": _MSG + "medcom-messaging-organization",
}

#: MedCom's CareCommunication categories (CodeSystem medcom-careCommunication-categoryCodes).
CATEGORIES: Final = frozenset(
    {
        "alcohol-and-drug-treatment",
        "assistive-devices",
        "carecoordination",
        "decease",
        "discharge",
        "examination-results",
        "healthcare",
        "home-care-assessment",
        "medicine",
        "nursing",
        "outpatient",
        "psychiatry-social-disability",
        "regarding-referral",
        "telemedicine",
        "training",
        "acute-ambulant",
        "extended-care-responsibility",
        "other",
    }
)
#: Danish display names of the categories Bridge uses, for the narrative.
CATEGORY_LABELS: Final = {
    "carecoordination": "Forløbskoordinering",
    "discharge": "Udskrivelse",
    "psychiatry-social-disability": "Psykiatri, socialområdet, handicap",
    "nursing": "Sygepleje",
}
#: Attachment types MedCom allows (ValueSet medcom-core-attachmentMimeTypes) that Bridge sends.
ATTACHMENT_TYPES: Final = frozenset({"application/pdf"})
ACK_CODES: Final = frozenset({"ok", "transient-error", "fatal-error"})

#: Base of entry fullUrls (``<base>/<Type>/<id>``, the MedCom style, with relative references).
DEFAULT_FULL_URL_BASE: Final = "https://bridge.invalid/fhir"

_XHTML_NS: Final = "http://www.w3.org/1999/xhtml"
_FHIR_ID_RE: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# XML 1.0 forbids these even when escaped; a FHIR string may not hold them either.
_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://bridge/medcom/carecommunication")


def stable_uuid4(seed: str, role: str) -> str:
    """A UUID in version 4 form that is the same for the same ``seed`` and ``role``.

    MedCom states UUID v4 for ids and identifiers, yet a resend must repeat its content. The
    seed is the MessageHeader id, itself a random v4, so the derived value is as unguessable
    and unique as a random one; only the version and variant bits are fixed.
    """
    digest = hashlib.sha256(f"{_ID_NAMESPACE}/{seed}/{role}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


# --- input and output types -------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationRef:
    """An organisation as MedCom addresses it: name, SOR code and GLN (EAN location number)."""

    name: str
    sor_code: str | None
    gln: str | None


@dataclass(frozen=True)
class PatientRef:
    """The citizen the message is about: CPR number (10 digits) and full name."""

    cpr: str
    name: str


@dataclass(frozen=True)
class CareCommunicationInput:
    """Everything needed to build one CareCommunication message (stable across resends)."""

    message_header_id: str
    category: str
    topic: str
    text: str
    sender: OrganisationRef
    receiver: OrganisationRef
    patient: PatientRef
    sent_at: datetime
    author_name: str
    link: str | None
    author_role: str = "sygeplejerske"
    #: MedCom's authorContact (1..1): her own line or her organisation's.
    author_phone: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A document sent inside the message (base64 in ``payload.contentAttachment.data``)."""

    title: str
    content_type: str
    data: bytes
    created: datetime


@dataclass(frozen=True)
class Acknowledgement:
    """What a MedCom Acknowledgement says about the message it answers."""

    acknowledged_message_header_id: str
    code: str
    detail: str | None


# --- public functions -------------------------------------------------------------------------


def build_care_communication(
    msg: CareCommunicationInput,
    bundle_id: str | None = None,
    *,
    timestamp: datetime | None = None,
    full_url_base: str = DEFAULT_FULL_URL_BASE,
) -> dict[str, Any]:
    """Build a validated MedCom CareCommunication Bundle as a JSON-able dict."""
    _check_fhir_id(msg.message_header_id, "message_header_id")
    if msg.category not in CATEGORIES:
        raise ValueError(f"category must be one of {sorted(CATEGORIES)}, not {msg.category!r}")
    text = _clean_text(msg.text)
    if not text.strip():
        raise ValueError("the message text is empty")
    topic = _clean_text(msg.topic).strip()
    author_name = msg.author_name.strip()
    if not author_name:
        raise ValueError("author_name is empty")
    if not msg.author_role.strip():
        raise ValueError("author_role is empty")
    sent_at = _aware(msg.sent_at, "sent_at")
    envelope_time = _aware(timestamp, "timestamp") if timestamp is not None else sent_at
    sender = _checked_org(msg.sender, "sender")
    receiver = _checked_org(msg.receiver, "receiver")
    cpr = parse_cpr(msg.patient.cpr).digits
    patient_name = msg.patient.name.strip()
    if not patient_name:
        raise ValueError("patient name is empty")
    phone = (msg.author_phone or "").strip() or None
    if phone is None:
        raise ValueError("author_phone is missing: MedCom requires a phone number (authorContact)")
    for attachment in msg.attachments:
        if attachment.content_type not in ATTACHMENT_TYPES:
            raise ValueError(f"attachment type {attachment.content_type!r} is not allowed")
        if not attachment.title.strip() or not attachment.data:
            raise ValueError("an attachment needs a title and content")
        _aware(attachment.created, "attachment created")
    link = msg.link.strip() if msg.link else None
    if link is not None and urlsplit(link).scheme not in ("http", "https"):
        raise ValueError("link must be an http(s) URL")
    bundle_id = bundle_id if bundle_id is not None else str(uuid.uuid4())
    _check_fhir_id(bundle_id, "bundle_id")

    # Every id except Bundle.id derives from the MessageHeader id: a resend is the same message
    # in a new envelope, so its content must not change.
    def derived(role: str) -> str:
        return stable_uuid4(msg.message_header_id, role)

    header_id = msg.message_header_id
    ids = {
        name: derived(name)
        for name in ("Patient", "Communication", "PractitionerRole", "Practitioner", "Provenance")
    }
    receiver_id, sender_id = derived("Organization/receiver"), derived("Organization/sender")
    text_payload_id = f"urn:uuid:{derived('payload/text')}"
    link_payload_id = f"urn:uuid:{derived('payload/link')}"
    when = _fhir_datetime(sent_at)

    sender_ref = {"reference": f"Organization/{sender_id}"}
    role_ref = {"reference": f"PractitionerRole/{ids['PractitionerRole']}"}
    common_ext = [{"url": _EXT_DATETIME, "valueDateTime": when}]
    author_ext = [
        {"url": _EXT_PRACTITIONER, "valueReference": role_ref},
        {"url": _EXT_CONTACT, "valueContactPoint": {"system": "phone", "value": phone}},
    ]
    text_ext = [
        *common_ext,
        {
            "url": _EXT_IDENTIFIER,
            "valueIdentifier": {"value": text_payload_id, "assigner": sender_ref},
        },
        *author_ext,
    ]
    payload: list[dict[str, Any]] = [{"extension": text_ext, "contentString": text}]
    attachment_ids = []
    for index, attachment in enumerate(msg.attachments):
        attachment_id = f"urn:uuid:{derived(f'payload/attachment/{index}')}"
        attachment_ids.append(attachment_id)
        payload.append(
            {
                "extension": [
                    *common_ext,
                    {
                        "url": _EXT_IDENTIFIER,
                        "valueIdentifier": {"value": attachment_id, "assigner": sender_ref},
                    },
                    *author_ext,
                ],
                "contentAttachment": {
                    "contentType": attachment.content_type,
                    "data": base64.b64encode(attachment.data).decode("ascii"),
                    "title": _clean_text(attachment.title).strip(),
                    "creation": _fhir_datetime(attachment.created),
                },
            }
        )
    if link is not None:
        payload.append(
            {
                "extension": [
                    *common_ext,
                    {
                        "url": _EXT_IDENTIFIER,
                        "valueIdentifier": {"value": link_payload_id, "assigner": sender_ref},
                    },
                    *author_ext,
                ],
                "contentAttachment": {"url": link, "title": link},
            }
        )
    payload_ids = [text_payload_id, *attachment_ids] + ([link_payload_id] if link else [])

    category_label = CATEGORY_LABELS.get(msg.category, msg.category)
    comm_div = [
        _p("Kategori", f"{category_label} ({msg.category})"),
        *([_p("Emne", topic)] if topic else []),
        _p("Borger", f"{patient_name} (CPR {cpr})"),
        _p("Afsender", f"{author_name}, {sender.name}"),
        _p("Modtager", receiver.name),
        _p("Tidspunkt", when),
        *([_p("Kontakt", phone)] if phone else []),
        f"<p>{_escape_lines(text)}</p>",
        *[_p("Bilag", a.title) for a in msg.attachments],
        *([_p("Link", link)] if link else []),
    ]
    communication: dict[str, Any] = {
        "resourceType": "Communication",
        "id": ids["Communication"],
        "meta": {"profile": [PROFILES["Communication"]]},
        "text": {"status": "extensions", "div": _div(comm_div)},
        "identifier": [{"value": f"urn:uuid:{derived('Communication/identifier')}"}],
        "status": "unknown",
        "category": [{"coding": [{"system": CATEGORY_CODE_SYSTEM, "code": msg.category}]}],
        "subject": {"reference": f"Patient/{ids['Patient']}"},
        "payload": payload,
    }
    if topic:
        communication["topic"] = {"text": topic}

    resources: list[dict[str, Any]] = [
        {
            "resourceType": "MessageHeader",
            "id": header_id,
            "meta": {"profile": [PROFILES["MessageHeader"]]},
            "text": _narrative(
                _p("Meddelelse", "Korrespondancemeddelelse (care-communication-message)"),
                _p("Afsender", f"{sender.name} (SOR {sender.sor_code})"),
                _p("Modtager", f"{receiver.name} (SOR {receiver.sor_code})"),
            ),
            "eventCoding": {"system": EVENT_CODE_SYSTEM, "code": CARE_COMMUNICATION_EVENT},
            "destination": [_destination(receiver, receiver_id)],
            "sender": sender_ref,
            "source": {"endpoint": SOR_ENDPOINT_PREFIX + str(sender.sor_code)},
            "focus": [{"reference": f"Communication/{ids['Communication']}"}],
            "definition": CARE_COMMUNICATION_DEFINITION,
        },
        _patient(ids["Patient"], cpr, patient_name),
        communication,
        {
            "resourceType": "PractitionerRole",
            "id": ids["PractitionerRole"],
            "meta": {"profile": [PROFILES["PractitionerRole"]]},
            "text": _narrative(
                _p("Stilling", msg.author_role),
                _p("Navn", author_name),
                _p("Arbejdssted", sender.name),
            ),
            "practitioner": {"reference": f"Practitioner/{ids['Practitioner']}"},
            "organization": sender_ref,
            "code": [
                {"coding": [{"system": PRACTITIONER_ROLE_SYSTEM, "code": msg.author_role.strip()}]}
            ],
        },
        {
            "resourceType": "Practitioner",
            "id": ids["Practitioner"],
            "meta": {"profile": [PROFILES["Practitioner"]]},
            "text": _narrative(_p("Navn", author_name)),
            "name": [_human_name(author_name, official=False)],
        },
        _organization(receiver_id, receiver, PROFILES["Organization"]),
        _organization(sender_id, sender, PROFILES["Organization"]),
        {
            "resourceType": "Provenance",
            "id": ids["Provenance"],
            "meta": {"profile": [PROFILES["Provenance"]]},
            "text": _narrative(
                _p("Aktivitet", "Ny meddelelse (new-message)"),
                _p("Tidspunkt", when),
                _p("Ansvarlig", sender.name),
            ),
            "target": [{"reference": f"MessageHeader/{header_id}"}],
            "occurredDateTime": when,
            "recorded": when,
            "activity": {"coding": [{"system": ACTIVITY_CODE_SYSTEM, "code": "new-message"}]},
            "agent": [{"who": sender_ref}],
            "entity": [
                {"role": "source", "what": {"identifier": {"value": v}}} for v in payload_ids
            ],
        },
    ]
    return _validated_bundle(
        bundle_id, PROFILES["Bundle"], _fhir_datetime(envelope_time), resources, full_url_base
    )


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
