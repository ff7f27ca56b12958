"""Build a MedCom CareCommunication Bundle (FHIR R4) from plain data."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bridge.adapters.fhir_profiles import (
    _EXT_CONTACT,
    _EXT_DATETIME,
    _EXT_IDENTIFIER,
    _EXT_PRACTITIONER,
    ACTIVITY_CODE_SYSTEM,
    ATTACHMENT_TYPES,
    CARE_COMMUNICATION_DEFINITION,
    CARE_COMMUNICATION_EVENT,
    CATEGORIES,
    CATEGORY_CODE_SYSTEM,
    CATEGORY_LABELS,
    DEFAULT_FULL_URL_BASE,
    EVENT_CODE_SYSTEM,
    PRACTITIONER_ROLE_SYSTEM,
    PROFILES,
    SOR_ENDPOINT_PREFIX,
    stable_uuid4,
)
from bridge.adapters.fhir_resources import (
    _aware,
    _check_fhir_id,
    _checked_org,
    _clean_text,
    _destination,
    _div,
    _escape_lines,
    _fhir_datetime,
    _human_name,
    _narrative,
    _organization,
    _p,
    _patient,
    _validated_bundle,
)
from bridge.adapters.fhir_thread import REPLY, continue_thread
from bridge.domain.identifiers import parse_cpr
from bridge.domain.notifications import channels
from bridge.domain.notifications.messages import (
    Attachment,
    CareCommunicationInput,
    OrganisationRef,
    PatientRef,
)

# --- public functions -------------------------------------------------------------------------


def build_care_communication(
    msg: CareCommunicationInput,
    bundle_id: str | None = None,
    *,
    timestamp: datetime | None = None,
    full_url_base: str = DEFAULT_FULL_URL_BASE,
) -> dict[str, Any]:
    """Build a validated MedCom CareCommunication Bundle as a JSON-able dict."""
    c = _checked(msg, timestamp)
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
    when = _fhir_datetime(c.sent_at)
    sender_ref = {"reference": f"Organization/{sender_id}"}
    role_ref = {"reference": f"PractitionerRole/{ids['PractitionerRole']}"}
    payload, payload_ids = _payload(msg, c, derived, sender_ref, role_ref, when)
    sender, receiver, author_name = c.sender, c.receiver, c.author_name
    communication = _communication(msg, c, ids, derived, payload, when)
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
        _patient(ids["Patient"], c.cpr, c.patient_name),
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
        bundle_id, PROFILES["Bundle"], _fhir_datetime(c.envelope_time), resources, full_url_base
    )


@dataclass(frozen=True)
class _Checked:
    """The message's fields, checked and cleaned."""

    text: str
    topic: str
    author_name: str
    sent_at: datetime
    envelope_time: datetime
    sender: OrganisationRef
    receiver: OrganisationRef
    cpr: str
    patient_name: str
    phone: str
    link: str | None


def _checked(msg: CareCommunicationInput, timestamp: datetime | None) -> _Checked:
    """Refuse (``ValueError``) what MedCom would refuse, before anything is built."""
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
    return _Checked(
        text=text,
        topic=topic,
        author_name=author_name,
        sent_at=sent_at,
        envelope_time=envelope_time,
        sender=sender,
        receiver=receiver,
        cpr=cpr,
        patient_name=patient_name,
        phone=phone,
        link=link,
    )


def _payload(
    msg: CareCommunicationInput,
    c: _Checked,
    derived: Callable[[str], str],
    sender_ref: dict[str, str],
    role_ref: dict[str, str],
    when: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The text, the attachments and the link, each with its identifier and author."""
    text, link, phone = c.text, c.link, c.phone
    text_payload_id = f"urn:uuid:{derived('payload/text')}"
    link_payload_id = f"urn:uuid:{derived('payload/link')}"
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
    return payload, payload_ids


def _communication(
    msg: CareCommunicationInput,
    c: _Checked,
    ids: dict[str, str],
    derived: Callable[[str], str],
    payload: list[dict[str, Any]],
    when: str,
) -> dict[str, Any]:
    """The Communication: the message itself, with its narrative in Danish."""
    topic, patient_name, cpr, author_name = c.topic, c.patient_name, c.cpr, c.author_name
    sender, receiver, phone, text, link = c.sender, c.receiver, c.phone, c.text, c.link

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
    return communication


def fhir_bundle(
    *,
    message_header_id: str,
    bundle_id: str,
    kind: str,
    subject: str,
    body: str,
    sender: OrganisationRef,
    receiver: OrganisationRef,
    patient: PatientRef,
    created_at: datetime,
    now: datetime,
    author_name: str,
    link: str | None,
    author_phone: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    max_bytes: int = channels.MAX_MESSAGE_BYTES,
    earlier: dict[str, Any] | None = None,
    activity: str | None = None,
) -> bytes:
    """A CareCommunication Bundle: same content and MessageHeader id, a new envelope per send.

    With ``earlier`` (a received Bundle) and ``activity`` (reply or forward), the message carries
    on that thread (``fhir_thread.continue_thread``)."""
    bundle = build_care_communication(
        CareCommunicationInput(
            message_header_id=message_header_id,
            category=channels.category_for(kind),
            topic=subject,
            text=body,
            sender=sender,
            receiver=receiver,
            patient=patient,
            sent_at=created_at,
            author_name=author_name,
            link=link if link and link.startswith(("http://", "https://")) else None,
            author_phone=author_phone,
            attachments=attachments,
        ),
        bundle_id,
        timestamp=now,
    )
    if earlier is not None:
        resources = continue_thread(
            [e["resource"] for e in bundle["entry"]], earlier, activity or REPLY
        )
        bundle = _validated_bundle(
            bundle["id"], PROFILES["Bundle"], bundle["timestamp"], resources, DEFAULT_FULL_URL_BASE
        )
    encoded = json.dumps(bundle, separators=(",", ":")).encode()
    if len(encoded) > max_bytes:
        raise ValueError(f"the message is {len(encoded)} bytes, over the limit of {max_bytes}")
    return encoded
