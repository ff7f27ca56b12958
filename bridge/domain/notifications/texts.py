"""Notification texts, Danish by default and English available, rendered from templates.

The patient's name and masked CPR appear only on health-data channels (FHIR, inbox); an email is a
bare notice with a link, so its templates have no placeholder that could carry health data.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Final

LANGUAGES: Final = ("da", "en")
DEFAULT_LANGUAGE: Final = "da"
#: Who signs a message when the event names no author.
DEFAULT_AUTHOR: Final = "Brobyggersygeplejerske"

# kind -> language -> (subject, body). ${patient}, ${title}, ${actions} and ${link} are filled in.
TEMPLATES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "minutes_final": {
        "da": (
            "Referat fra netværksmøde",
            "Referatet fra netværksmødet om ${patient} er endeligt.\n${title}\n${actions}"
            "Læs referatet: ${link}",
        ),
        "en": (
            "Minutes of a network meeting",
            "The minutes of the network meeting about ${patient} are final.\n${title}\n${actions}"
            "Read the minutes: ${link}",
        ),
    },
    "minutes_amended": {
        "da": (
            "Rettet referat fra netværksmøde",
            "Referatet fra netværksmødet om ${patient} er rettet.\n${title}\n${actions}"
            "Læs det rettede referat: ${link}",
        ),
        "en": (
            "Amended minutes of a network meeting",
            "The minutes of the network meeting about ${patient} have been amended.\n${title}\n"
            "${actions}" + "Read the amended minutes: ${link}",
        ),
    },
    "care_reply": {
        "da": ("Svar fra brobyggersygeplejersken", "${title}"),
        "en": ("Reply from the bridge nurse", "${title}"),
    },
    "care_forward": {
        "da": ("Videresendt besked", "${title}"),
        "en": ("Forwarded message", "${title}"),
    },
    "discharge": {
        "da": (
            "Udskrivelse",
            "${patient} er udskrevet.\n${title}\n${actions}" + "Se udskrivelsen: ${link}",
        ),
        "en": (
            "Discharge",
            "${patient} has been discharged.\n${title}\n${actions}" + "See the discharge: ${link}",
        ),
    },
    "task_assigned": {
        "da": (
            "Ny opgave",
            "I har fået en opgave vedrørende ${patient}.\n${title}\n${actions}${link}",
        ),
        "en": (
            "New task",
            "You have a new task concerning ${patient}.\n${title}\n${actions}${link}",
        ),
    },
    "task_overdue": {
        "da": (
            "Påmindelse: opgave over frist",
            "En opgave vedrørende ${patient} er over fristen.\n${title}\n${actions}${link}",
        ),
        "en": (
            "Reminder: task overdue",
            "A task concerning ${patient} is past its deadline.\n${title}\n${actions}${link}",
        ),
    },
}
GENERIC: Final[dict[str, tuple[str, str]]] = {
    "da": ("Ny meddelelse", "Ny meddelelse vedrørende ${patient}.\n${title}\n${actions}${link}"),
    "en": ("New message", "A new message concerning ${patient}.\n${title}\n${actions}${link}"),
}
# The email notice: deliberately without ${patient}, ${title} or ${actions}.
NOTICE: Final[dict[str, tuple[str, str]]] = {
    "da": (
        "Ny meddelelse i Bridge",
        "Der ligger en ny meddelelse (${subject}) til jer i Bridge.\n"
        "Læs og kvitter for den her: ${link}\n\n"
        "Af hensyn til datasikkerheden indeholder denne e-mail ingen helbredsoplysninger.",
    ),
    "en": (
        "New message in Bridge",
        "A new message (${subject}) is waiting for you in Bridge.\n"
        "Read and acknowledge it here: ${link}\n\n"
        "For data protection this email holds no health information.",
    ),
}
_ACTIONS_HEADING: Final = {"da": "Opgaver til jer:", "en": "Tasks for you:"}


@dataclass(frozen=True)
class RenderedText:
    subject: str
    body: str


def patient_label(name: str, cpr_masked: str) -> str:
    """How a health-data channel names the patient: name and masked CPR."""
    return f"{name} ({cpr_masked})"


def render(
    kind: str,
    language: str,
    *,
    patient: str | None,
    title: str | None,
    action_items: list[str],
    link: str,
) -> RenderedText:
    """The subject and body of a health-data message (FHIR, inbox)."""
    subject, body = TEMPLATES.get(kind, GENERIC)[_language(language)]
    actions = ""
    if action_items:
        lines = "\n".join(f"- {item}" for item in action_items)
        actions = f"{_ACTIONS_HEADING[_language(language)]}\n{lines}\n"
    fallback = "en borger" if _language(language) == "da" else "a patient"
    text = Template(body).substitute(
        patient=patient or fallback, title=title or "", actions=actions, link=link
    )
    # Drop the blank line an empty title leaves behind.
    return RenderedText(subject=subject, body=text.replace("\n\n", "\n").strip())


def render_notice(kind: str, language: str, *, link: str) -> RenderedText:
    """The email notice: which kind of message waits and where; never any health data."""
    lang = _language(language)
    subject, body = NOTICE[lang]
    kind_subject = TEMPLATES.get(kind, GENERIC)[lang][0]
    return RenderedText(
        subject=subject, body=Template(body).substitute(subject=kind_subject.lower(), link=link)
    )


def _language(language: str) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE
