"""The codes and addresses of MedCom's profiles that inbound messages are checked against
(CareCommunication 5.0.2, HospitalNotification 3.0.2, Acknowledgement 2.0.3), written out so the
product does not read the profile folder at run time."""

from __future__ import annotations

from typing import Final

EVENT_SYSTEM: Final = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes"
ACTIVITY_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes"
)
CATEGORY_SYSTEM: Final = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-careCommunication-categoryCodes"
)
DESTINATION_USE_URL: Final = (
    "http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-destinationUseExtension"
)
SOR_SYSTEM: Final = "urn:oid:1.2.208.176.1.1"
GLN_SYSTEM: Final = "https://www.gs1.org/gln"
CPR_SYSTEM: Final = "urn:oid:1.2.208.176.1.2"
# Replacement CPR numbers (dk-core d-eCPR, x-eCPR, MedCom eCPR): valid, but no CPR to match.
REPLACEMENT_CPR_SYSTEMS: Final = ("urn:oid:1.2.208.176.1.6",)
ENCOUNTER_CLASS_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LEAVE_PERIOD_URL: Final = (
    "http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"
    "medcom-hospitalnotifiation-leave-period-extension"
)
_CORE_EXT: Final = "http://medcomfhir.dk/ig/core/StructureDefinition/"
EXT_DATETIME: Final = _CORE_EXT + "medcom-core-datetime-extension"
EXT_IDENTIFIER: Final = _CORE_EXT + "medcom-core-identifier-extension"
EXT_PRACTITIONER: Final = _CORE_EXT + "medcom-core-practitioner-extension"
EXT_CONTACT: Final = _CORE_EXT + "medcom-core-contact-extension"

CARE_COMMUNICATION: Final = "care-communication-message"
HOSPITAL_NOTIFICATION: Final = "hospital-notification-message"
ACKNOWLEDGEMENT: Final = "acknowledgement-message"
EVENTS: Final = frozenset({CARE_COMMUNICATION, HOSPITAL_NOTIFICATION, ACKNOWLEDGEMENT})
ACK_CODES: Final = frozenset({"ok", "transient-error", "fatal-error"})

# CodeSystem medcom-careCommunication-categoryCodes (CareCommunication 5.0.2).
CATEGORIES: Final = frozenset(
    {
        "alcohol-and-drug-treatment", "assistive-devices", "carecoordination", "decease",
        "discharge", "examination-results", "healthcare", "home-care-assessment", "medicine",
        "nursing", "outpatient", "psychiatry-social-disability", "regarding-referral",
        "telemedicine", "training", "acute-ambulant", "extended-care-responsibility", "other",
    }
)  # fmt: skip
CC_ACTIVITIES: Final = frozenset(
    {"new-message", "reply-message", "forward-message", "modified-message", "retract-message",
     "carboncopy-message"}
)  # fmt: skip
# ValueSet medcom-hospitalNotification-messageActivities (HospitalNotification 3.0.2).
HN_ACTIVITIES: Final = frozenset(
    {
        f"{prefix}{event}"
        for prefix in ("", "revise-", "cancel-")
        for event in (
            "admit-emergency", "admit-inpatient", "start-leave-inpatient", "end-leave-inpatient",
            "discharge-emergency-home", "discharge-inpatient-home",
        )
    }
)  # fmt: skip
# ValueSets medcom-hospitalNotification-encounterStatus and -encounterClass.
ENCOUNTER_STATUSES: Final = frozenset({"in-progress", "onleave", "finished", "entered-in-error"})
ENCOUNTER_CLASSES: Final = frozenset({"IMP", "EMER"})
