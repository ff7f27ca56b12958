"""MedCom FHIR messages: the systems, profiles and codes Bridge uses, and derived resource ids.

Follows the MedCom examples for CareCommunication 5.0.2 and Acknowledgement 2.0.3, which are
FHIR R4 (4.0.1).  The models come from ``fhir.resources.R4B``: fhir.resources 8 defaults to R5,
whose MessageHeader has no ``destination.endpoint``/``source.endpoint`` uri and types
``response.identifier`` as an Identifier, so R5 rejects every MedCom message; R4B keeps the R4
shape of the resources used here (MedCom's examples round-trip through it unchanged).

fhir.resources checks structure, cardinality, data types and id/dateTime patterns; it does not
check codes against value sets or MedCom profile invariants, so these modules keep to MedCom's
codes themselves.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Final

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
