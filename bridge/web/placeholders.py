"""Empty Today sections for the areas that are still to come (flags, follow-ups, meetings,
discharges). Each area replaces its placeholder by registering a provider under the same key."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.web.labels import _N
from bridge.web.sections import Section, register_today_provider


def _placeholder(key: str, title: str, empty: str):
    def provider(session: Session, principal: Principal, now: datetime) -> Section:
        # Titles are translated per request (the language is the user's), not at import time.
        return Section(key=key, title=_(title), empty_text=_(empty))

    return provider


register_today_provider(
    "flags",
    _placeholder("flags", _N("Open flags"), _N("No open flags. Nothing has fallen through.")),
    order=10,
)
register_today_provider(
    "follow_ups",
    _placeholder("follow_ups", _N("Follow-up tasks due"), _N("No follow-up tasks are due.")),
    order=20,
)
register_today_provider(
    "meetings",
    _placeholder("meetings", _N("Meetings this week"), _N("No meetings this week.")),
    order=30,
)
register_today_provider(
    "discharges",
    _placeholder(
        "discharges", _N("Discharges in the last 14 days"), _N("No discharges in the last 14 days.")
    ),
    order=40,
)
