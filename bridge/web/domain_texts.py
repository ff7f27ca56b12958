"""The domain's refusals in the nurse's language.

bridge/domain speaks English to every caller (the API's problem+json included); the web shows
a Danish sentence instead. A rule is known by the field it is about and by its English text
(the closest the domain has to a code); the table below is the only place that pairs them with
a translated text, so a domain text without an entry shows a general Danish sentence rather
than leaking English onto a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

from bridge.domain.errors import Conflict, DomainError, RuleViolation
from bridge.web.labels import _N, label

# (field, the domain's English text) -> the text a nurse reads.
_RULES: dict[tuple[str | None, str], str] = {
    ("until", "snooze needs a time in the future"): _N("Choose a day after today to snooze to."),
    ("reason", "resolving by hand needs a reason"): _N(
        "Write why the flag is resolved before you resolve it."
    ),
    ("cancel_reason", "cancelling a task needs a reason"): _N("Write why the task is cancelled."),
    ("cancel_reason", "a reason is given only when cancelling"): _N(
        "A reason is only written when the task is cancelled."
    ),
    ("scheduled_start", "a meeting cannot be held before it starts"): _N(
        "The meeting can only be recorded as held once it has started."
    ),
    ("scheduled_end", "scheduled_end must be after scheduled_start"): _N(
        "The meeting must end after it starts."
    ),
    ("summary", "final minutes need a summary"): _N("Final minutes need a summary."),
    ("text", "write the message"): _N("Write the message before you send it."),
    ("recipient_organisation_id", "choose a GP practice, municipality, hospital or facility"): _N(
        "Choose the GP practice, municipality, hospital or facility to forward to."
    ),
    ("recipient_organisation_id", "the message came from this organisation: reply instead"): _N(
        "The message came from that organisation: reply to it instead."
    ),
    ("screened_on", "a screening cannot be in the future"): _N(
        "A screening cannot be dated in the future."
    ),
    ("admission_id", "admission_id must name a stay of this patient"): _N(
        "The task must belong to a stay of this patient."
    ),
    ("patient_id", "the patient has no bridge nurse to organise the meeting"): _N(
        "The patient has no bridge nurse to organise the meeting."
    ),
}

# Refusals that name a state: (pattern of the domain's text, its Danish sentence).
_CONFLICTS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^the flag is resolved$"), lambda m: _("The flag is already resolved.")),
    (
        re.compile(r"^the region already has rules from that date$"),
        lambda m: _("The region already has rules from that date."),
    ),
    (
        re.compile(r"^the task is already (\w+)$"),
        lambda m: _(
            "The task is already %(status)s.", status=label("follow_up_status", m[1]).lower()
        ),
    ),
    (
        re.compile(r"^the task is (\w+) and can no longer change$"),
        lambda m: _(
            "The task is %(status)s and can no longer be changed.",
            status=label("follow_up_status", m[1]).lower(),
        ),
    ),
    (
        re.compile(r"^a (\w+) meeting cannot become (\w+)$"),
        lambda m: _(
            "A meeting that is %(now)s cannot become %(then)s.",
            now=label("meeting_status", m[1]).lower(),
            then=label("meeting_status", m[2]).lower(),
        ),
    ),
    (
        re.compile(r"^a (\w+) meeting can no longer be changed$"),
        lambda m: _(
            "A meeting that is %(now)s can no longer be changed.",
            now=label("meeting_status", m[1]).lower(),
        ),
    ),
    (
        re.compile(r"^minutes are written once the meeting is held$"),
        lambda m: _("Minutes are written once the meeting is held."),
    ),
    (
        re.compile(r"^attendance is recorded once the meeting is held$"),
        lambda m: _("Attendance is recorded once the meeting is held."),
    ),
    (
        re.compile(r"^the meeting already has minutes"),
        lambda m: _("The meeting already has minutes; edit the draft or amend the final version."),
    ),
]


def domain_text(exc: DomainError) -> str:
    """The Danish (or chosen language's) sentence for a refusal of the domain."""
    field = exc.field if isinstance(exc, RuleViolation) else None
    text = _RULES.get((field, exc.detail))
    if text is not None:
        return _(text)
    for pattern, render in _CONFLICTS:
        match = pattern.match(exc.detail)
        if match:
            return render(match)
    if isinstance(exc, Conflict):
        return _("This cannot be done in the current state. Reload the page and try again.")
    return _("The form could not be saved. Check what you wrote and try again.")
