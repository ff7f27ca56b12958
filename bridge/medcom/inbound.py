"""Read and check inbound MedCom messages: CareCommunication 5.0.2, HospitalNotification 3.0.2
and Acknowledgement 2.0.3.

The checks are the structural ones of MedCom's profiles that decide whether Bridge can act on a
message: the mandatory elements, the codes from the profiles' required value sets, references
that resolve inside the Bundle, CPR/SOR identifiers. They are written out here (not read from
the profile files) so the product does not depend on the profile folder at run time; the test
suite runs MedCom's examples and broken copies through them, and the acknowledgements through
MedCom's validator.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any, Final

from bridge.domain.identifiers import parse_cpr
from bridge.domain.messaging.data import (
    AckIssue,
    Attachment,
    CareMessage,
    Envelope,
    OrgIdent,
    Payload,
    StayEvent,
)
from bridge.medcom.codes import (
    ACK_CODES,
    ACTIVITY_SYSTEM,
    CATEGORIES,
    CATEGORY_SYSTEM,
    CC_ACTIVITIES,
    CPR_SYSTEM,
    DESTINATION_USE_URL,
    ENCOUNTER_CLASS_SYSTEM,
    ENCOUNTER_CLASSES,
    ENCOUNTER_STATUSES,
    EVENT_SYSTEM,
    EVENTS,
    EXT_CONTACT,
    EXT_DATETIME,
    EXT_IDENTIFIER,
    EXT_PRACTITIONER,
    GLN_SYSTEM,
    HN_ACTIVITIES,
    LEAVE_PERIOD_URL,
    REPLACEMENT_CPR_SYSTEMS,
    SOR_SYSTEM,
)

_ID_RE: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_DATETIME_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})"
)


class NotAMessage(ValueError):
    """Not a FHIR message Bundle at all (no MessageHeader to answer): a plain HTTP error."""


class Refused(Exception):
    """The message breaks its profile: answered with a negative acknowledgement."""

    def __init__(self, issue: AckIssue) -> None:
        super().__init__(issue.text)
        self.issue = issue


def _fatal(text: str, issue_type: str = "structure", error_code: str | None = None) -> Refused:
    return Refused(AckIssue("fatal-error", issue_type, error_code, text[:500]))


def _missing(what: str) -> Refused:
    return _fatal(f"{what} is missing", "required", "MSG_RESOURCE_REQUIRED")


def _unknown_code(what: str, code: Any) -> Refused:
    return _fatal(
        f"{what} {code!r} is not in the profile's value set",
        "code-invalid",
        "MSG_VALUESET_VALUE_UNKNOWN",
    )


class _Message:
    """A Bundle's entries, with references resolved inside it."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle
        self.resources: list[dict[str, Any]] = []
        self.by_ref: dict[str, dict[str, Any]] = {}
        for i, entry in enumerate(bundle.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                raise _fatal(f"Bundle.entry[{i}] has no resource", "required")
            if not entry.get("fullUrl"):
                raise _fatal(f"Bundle.entry[{i}].fullUrl is missing", "required")
            self.resources.append(resource)
            rid = resource.get("id")
            if isinstance(rid, str):
                self.by_ref[f"{resource['resourceType']}/{rid}"] = resource
            self.by_ref[str(entry["fullUrl"])] = resource

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["resourceType"] == kind]

    def resolve(self, ref: Any, kind: str, what: str) -> dict[str, Any]:
        reference = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(reference, str):
            raise _missing(what)
        resource = self.by_ref.get(reference)
        if resource is None:
            tail = "/".join(reference.rsplit("/", 2)[-2:])
            resource = self.by_ref.get(tail)
        if resource is None or resource["resourceType"] != kind:
            raise _fatal(
                f"{what} ({reference}) does not name a {kind} in the message",
                "invalid",
                "MSG_NO_EXIST",
            )
        return resource


# --- the envelope -------------------------------------------------------------------------------


def read_envelope(bundle: Any) -> tuple[Envelope, _Message]:
    """The message's ids, kind and organisations.

    ``NotAMessage`` when there is no MessageHeader id to answer; ``Refused`` when there is one
    but the rest of the envelope is broken (the sender is then answered with a fatal-error).
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise NotAMessage("the body must be a FHIR Bundle (resourceType 'Bundle')")
    entries = bundle.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    header = first.get("resource") if isinstance(first, dict) else None
    if not isinstance(header, dict) or header.get("resourceType") != "MessageHeader":
        raise NotAMessage("the Bundle's first entry must be a MessageHeader")
    header_id = header.get("id")
    if not isinstance(header_id, str) or not _ID_RE.fullmatch(header_id):
        raise NotAMessage("the MessageHeader has no valid id")
    bundle_id = bundle.get("id")
    if not isinstance(bundle_id, str) or not _ID_RE.fullmatch(bundle_id):
        raise NotAMessage("the Bundle has no valid id")
    msg = _Message(bundle)
    sender_ref = header.get("sender")
    sender = (
        _org(msg.resolve(sender_ref, "Organization", "MessageHeader.sender"))
        if sender_ref
        else None
    )
    receiver = None
    for destination in header.get("destination") or []:
        if _destination_use(destination) == "primary" and destination.get("receiver"):
            try:
                receiver = _org(
                    msg.resolve(destination["receiver"], "Organization", "destination.receiver")
                )
            except Refused:
                receiver = None
            break
    if sender is None:
        raise NotAMessage("the MessageHeader names no sender organisation")
    event = (header.get("eventCoding") or {}).get("code")
    envelope = Envelope(
        bundle_id=bundle_id,
        message_header_id=header_id,
        event=event if isinstance(event, str) else "",
        sender=sender,
        receiver=receiver,
    )
    return envelope, msg


def _destination_use(destination: Any) -> str | None:
    for ext in (destination or {}).get("extension") or []:
        if ext.get("url") == DESTINATION_USE_URL:
            return (ext.get("valueCoding") or {}).get("code")
    return None


def _identifier(resource: dict[str, Any], system: str) -> str | None:
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == system and ident.get("value"):
            return str(ident["value"])
    return None


def _org(resource: dict[str, Any]) -> OrgIdent:
    name = resource.get("name")
    return OrgIdent(
        name=name if isinstance(name, str) else None,
        sor_code=_identifier(resource, SOR_SYSTEM),
        gln=_identifier(resource, GLN_SYSTEM),
    )


# --- checks shared by the families --------------------------------------------------------------


def _check_common(msg: _Message, *, needs_focus: bool) -> dict[str, Any]:
    bundle = msg.bundle
    if bundle.get("type") != "message":
        raise _fatal(f"Bundle.type must be 'message', not {bundle.get('type')!r}", "value")
    _datetime(bundle.get("timestamp"), "Bundle.timestamp")
    header = msg.resources[0]
    event = header.get("eventCoding") or {}
    if event.get("system") != EVENT_SYSTEM or event.get("code") not in EVENTS:
        raise _unknown_code("MessageHeader.eventCoding", event.get("code"))
    if not (header.get("source") or {}).get("endpoint"):
        raise _missing("MessageHeader.source.endpoint")
    primaries = [d for d in header.get("destination") or [] if _destination_use(d) == "primary"]
    if len(primaries) != 1:
        raise _fatal(
            "MessageHeader.destination must have exactly one primary destination",
            "required",
            "MSG_Receiver_Identifier_MISSING",
        )
    if not primaries[0].get("endpoint"):
        raise _missing("MessageHeader.destination.endpoint")
    receiver = _org(msg.resolve(primaries[0].get("receiver"), "Organization", "receiver"))
    if not receiver.sor_code:
        raise _fatal(
            "the receiver has no SOR identifier", "required", "MSG_Receiver_Identifier_MISSING"
        )
    for org in msg.all("Organization"):
        if not _identifier(org, SOR_SYSTEM):
            raise _fatal("an Organization has no SOR identifier", "required")
    if needs_focus and not header.get("focus"):
        raise _missing("MessageHeader.focus")
    for prov in msg.all("Provenance"):
        _check_provenance(msg, prov)
    return header


def _check_provenance(msg: _Message, prov: dict[str, Any]) -> None:
    if not prov.get("target"):
        raise _missing("Provenance.target")
    _datetime(prov.get("occurredDateTime"), "Provenance.occurredDateTime")
    if not prov.get("recorded"):
        raise _missing("Provenance.recorded")
    coding = _coding(prov.get("activity"), ACTIVITY_SYSTEM)
    if coding is None:
        raise _missing("Provenance.activity")
    if not prov.get("agent"):
        raise _missing("Provenance.agent")


def _own_activity(msg: _Message, header_id: str) -> tuple[str, dict[str, Any]]:
    """The activity of the Provenance that describes this very message."""
    for prov in msg.all("Provenance"):
        targets = [t.get("reference", "") for t in prov.get("target") or []]
        if any(t.endswith(f"MessageHeader/{header_id}") for t in targets):
            coding = _coding(prov.get("activity"), ACTIVITY_SYSTEM) or {}
            return str(coding.get("code")), prov
    raise _missing("the Provenance of this message (target: its MessageHeader)")


def _entity_header(prov: dict[str, Any], role: str) -> str | None:
    for entity in prov.get("entity") or []:
        ref = (entity.get("what") or {}).get("reference") or ""
        if entity.get("role") == role and "MessageHeader/" in ref:
            return ref.rsplit("/", 1)[-1]
    return None


def _coding(concept: Any, system: str) -> dict[str, Any] | None:
    for coding in (concept or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == system:
            return coding
    return None


def _datetime(value: Any, what: str) -> datetime:
    if value is None:
        raise _missing(what)
    if not isinstance(value, str) or not _DATETIME_RE.fullmatch(value):
        raise _fatal(f"{what} is not a dateTime with a time zone", "value", "MSG_DATE_FORMAT")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _patient_cpr(msg: _Message) -> str | None:
    """The Patient's CPR number; None for a replacement CPR (no person Bridge can hold)."""
    patients = msg.all("Patient")
    if len(patients) != 1:
        raise _fatal("the message must carry exactly one Patient", "structure")
    cpr = _identifier(patients[0], CPR_SYSTEM)
    if cpr is None:
        systems = [str(i.get("system")) for i in patients[0].get("identifier") or []]
        if any(s.startswith(REPLACEMENT_CPR_SYSTEMS) for s in systems):
            return None
        raise _fatal("the Patient has no CPR identifier", "required")
    try:
        return parse_cpr(cpr).digits
    except ValueError as exc:
        raise _fatal(f"the Patient's CPR identifier is invalid: {exc}", "value") from None


# --- the families -------------------------------------------------------------------------------


def read_hospital_notification(envelope: Envelope, msg: _Message) -> StayEvent:
    """A checked HospitalNotification as a ``StayEvent``, or ``Refused``."""
    header = _check_common(msg, needs_focus=True)
    activity, prov = _own_activity(msg, envelope.message_header_id)
    if activity not in HN_ACTIVITIES:
        raise _unknown_code("the HospitalNotification activity", activity)
    encounter = msg.resolve((header.get("focus") or [{}])[0], "Encounter", "MessageHeader.focus")
    status = encounter.get("status")
    if status not in ENCOUNTER_STATUSES:
        raise _unknown_code("Encounter.status", status)
    enc_class = encounter.get("class") or {}
    if enc_class.get("system") != ENCOUNTER_CLASS_SYSTEM or enc_class.get("code") not in (
        ENCOUNTER_CLASSES
    ):
        raise _unknown_code("Encounter.class", enc_class.get("code"))
    patient = msg.resolve(encounter.get("subject"), "Patient", "Encounter.subject")
    cpr = _patient_cpr(msg)
    episodes = [
        e.get("identifier") or {}
        for e in encounter.get("episodeOfCare") or []
        if isinstance(e, dict)
    ]
    episode = next((e for e in episodes if e.get("value")), None)
    if episode is None:
        raise _missing("Encounter.episodeOfCare.identifier")
    period = encounter.get("period") or {}
    start = _datetime(period.get("start"), "Encounter.period.start")
    end = _datetime(period["end"], "Encounter.period.end") if period.get("end") else None
    leave = next(
        (x.get("valuePeriod") or {} for x in encounter.get("extension") or []
         if x.get("url") == LEAVE_PERIOD_URL),
        None,
    )  # fmt: skip
    if leave is not None and not leave.get("start"):
        leave = None
    if status == "onleave" and leave is None:
        raise _missing("the leave period of an Encounter on leave")
    if status == "finished" and end is None:
        raise _missing("Encounter.period.end of a finished stay")
    cancels = _entity_header(prov, "removal")
    if activity.startswith("cancel-") and cancels is None:
        raise _missing("the cancelled message (Provenance.entity with role 'removal')")
    return StayEvent(
        cpr=cpr,
        activity=activity,
        episode_identifier=f"{episode.get('system') or ''}|{episode['value']}"[:200],
        emergency=enc_class.get("code") == "EMER",
        status=status,
        start=start,
        end=end,
        leave_start=_datetime(leave["start"], "leave start")
        if leave and leave.get("start")
        else None,
        leave_end=_datetime(leave["end"], "leave end") if leave and leave.get("end") else None,
        deceased=bool(patient.get("deceasedBoolean") or patient.get("deceasedDateTime")),
        cancels_header_id=cancels,
    )


def read_care_communication(envelope: Envelope, msg: _Message) -> CareMessage:
    """A checked CareCommunication as a ``CareMessage``, or ``Refused``."""
    header = _check_common(msg, needs_focus=True)
    activity, prov = _own_activity(msg, envelope.message_header_id)
    if activity not in CC_ACTIVITIES:
        raise _unknown_code("the CareCommunication activity", activity)
    comm = msg.resolve((header.get("focus") or [{}])[0], "Communication", "MessageHeader.focus")
    if comm.get("status") != "unknown":
        raise _fatal("Communication.status must be 'unknown'", "value")
    categories = [_coding(c, CATEGORY_SYSTEM) for c in comm.get("category") or []]
    category = next((c.get("code") for c in categories if c), None)
    if category not in CATEGORIES:
        raise _unknown_code("Communication.category", category)
    msg.resolve(comm.get("subject"), "Patient", "Communication.subject")
    cpr = _patient_cpr(msg)
    identifiers = [i.get("value") for i in comm.get("identifier") or [] if isinstance(i, dict)]
    thread = next((v for v in identifiers if isinstance(v, str) and v), None)
    if thread is None:
        raise _missing("Communication.identifier")
    payloads = comm.get("payload") or []
    if not payloads:
        raise _missing("Communication.payload")
    topic = (comm.get("topic") or {}).get("text")
    return CareMessage(
        cpr=cpr,
        thread_identifier=thread[:200],
        category=category,
        topic=topic[:200] if isinstance(topic, str) else None,
        activity=activity,
        preceding_header_id=_entity_header(prov, "revision"),
        payloads=[_payload(msg, p, i) for i, p in enumerate(payloads)],
    )


def _payload(msg: _Message, payload: dict[str, Any], i: int) -> Payload:
    where = f"Communication.payload[{i}]"
    ext = {x.get("url"): x for x in payload.get("extension") or [] if isinstance(x, dict)}
    if EXT_DATETIME not in ext:
        raise _missing(f"{where} date extension")
    if EXT_IDENTIFIER not in ext:
        raise _missing(f"{where} identifier extension")
    if EXT_PRACTITIONER not in ext:
        raise _missing(f"{where} author extension")
    identifier = (ext[EXT_IDENTIFIER].get("valueIdentifier") or {}).get("value")
    if not identifier:
        raise _missing(f"{where} identifier value")
    role = msg.resolve(ext[EXT_PRACTITIONER].get("valueReference"), "PractitionerRole", "author")
    author = None
    if role.get("practitioner"):
        practitioner = msg.resolve(role["practitioner"], "Practitioner", "author's Practitioner")
        names = practitioner.get("name") or [{}]
        author = " ".join([*(names[0].get("given") or []), names[0].get("family") or ""]).strip()
    contact = (ext.get(EXT_CONTACT) or {}).get("valueContactPoint") or {}
    text = payload.get("contentString")
    raw = payload.get("contentAttachment")
    if text is None and raw is None:
        raise _missing(f"{where} content")
    attachment = None
    if isinstance(raw, dict):
        data = None
        if raw.get("data"):
            try:
                data = base64.b64decode(raw["data"], validate=True)
            except (binascii.Error, ValueError):
                raise _fatal(f"{where} attachment data is not base64", "value") from None
        # A reply repeats an earlier attachment by its title only: its data came before.
        attachment = Attachment(
            content_type=raw.get("contentType"),
            title=(raw.get("title") or "")[:200] or None,
            url=(raw.get("url") or "")[:1000] or None,
            data=data,
        )
    return Payload(
        identifier=str(identifier)[:200],
        sent_at=_datetime(ext[EXT_DATETIME].get("valueDateTime"), f"{where} date"),
        author_name=(author or None) and author[:200],
        author_contact=(contact.get("value") or None) and str(contact["value"])[:200],
        text=text if isinstance(text, str) else None,
        attachment=attachment,
    )


def check_acknowledgement(envelope: Envelope, msg: _Message) -> tuple[str, str, str | None]:
    """A checked Acknowledgement: (acknowledged MessageHeader id, code, reason)."""
    header = _check_common(msg, needs_focus=False)
    response = header.get("response") or {}
    code = response.get("code")
    if code not in ACK_CODES:
        raise _unknown_code("MessageHeader.response.code", code)
    if not response.get("identifier"):
        raise _missing("MessageHeader.response.identifier")
    reason = None
    if code != "ok":
        # MedCom: an error acknowledgement must say why, in an OperationOutcome.
        outcome = msg.resolve(response.get("details"), "OperationOutcome", "response.details")
        issues = outcome.get("issue") or []
        if not issues:
            raise _missing("OperationOutcome.issue")
        texts = []
        for issue in issues:
            details = issue.get("details") or {}
            codes = [c.get("display") or c.get("code") for c in details.get("coding") or []]
            texts.append(
                details.get("text") or issue.get("diagnostics") or ", ".join(filter(None, codes))
            )
        reason = "; ".join(t for t in texts if t) or None
    return str(response["identifier"]), str(code), reason
