"""Her meetings in her own calendar: the personal feed (create, rotate, revoke, read by secret
URL) and an .ics file per meeting. The content comes from bridge.domain.meetings.calendar_feed;
this module only turns it into iCalendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import Response, abort, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.base import utcnow
from bridge.domain.meetings import calendar_feed
from bridge.domain.meetings.calendar_feed import CalendarEntry
from bridge.domain.meetings.models import MeetingStatus
from bridge.domain.registry.models import Role
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.sections import Section

# A meeting without an end time still blocks an hour in the calendar.
DEFAULT_LENGTH = timedelta(hours=1)
_STATUS = {
    MeetingStatus.CANCELLED: "CANCELLED",
    MeetingStatus.REQUESTED: "TENTATIVE",
}
ICS_MIMETYPE = "text/calendar; charset=utf-8"


def _event(entry: CalendarEntry, host: str, stamp: datetime) -> Event:
    event = Event()
    # Stable per meeting, so a calendar updates (or cancels) the event it already has.
    event.add("uid", f"network-meeting-{entry.meeting_id}@{host}")
    event.add("dtstamp", stamp)
    event.add("last-modified", entry.updated_at)
    event.add("dtstart", entry.start)
    event.add("dtend", entry.end or entry.start + DEFAULT_LENGTH)
    event.add(
        "summary",
        _(
            "Network meeting %(initials)s (case M-%(id)s)",
            initials=entry.initials,
            id=entry.meeting_id,
        ),
    )
    if entry.place:
        event.add("location", entry.place)
    lines = [_("Case reference: M-%(id)s", id=entry.meeting_id)]
    if entry.organisations:
        lines.append(_("Participants: %(names)s", names=", ".join(entry.organisations)))
    if entry.video_link:
        lines.append(_("Video: %(link)s", link=entry.video_link))
        event.add("url", entry.video_link)
    event.add("description", "\n".join(lines))
    event.add("status", _STATUS.get(MeetingStatus(entry.status), "CONFIRMED"))
    return event


def to_ics(entries: Sequence[CalendarEntry], name: str) -> bytes:
    """An iCalendar document of the entries."""
    cal = Calendar()
    cal.add("prodid", "-//Bridge//Network meetings//DA")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    host = request.host.split(":")[0] or "bridge"
    stamp = utcnow()
    for entry in entries:
        cal.add_component(_event(entry, host, stamp))
    return cal.to_ical()


def _ics_response(body: bytes, filename: str | None = None) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = ICS_MIMETYPE
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/calendar/<secret>.ics")
def calendar_feed_ics(secret: str) -> ResponseReturnValue:
    """The feed a calendar app polls; the secret in the URL is the only credential."""
    principal = calendar_feed.feed_owner(db.session(), secret)
    if principal is None:
        abort(404)
    # The request wrapper commits and writes the audit notes of a request with a principal.
    g.principal = principal
    entries = calendar_feed.feed_entries(db.session(), principal, utcnow())
    return _ics_response(to_ics(entries, _("Network meetings")))


@bp.get("/meetings/<int:meeting_id>/calendar.ics")
@login_required
def meeting_ics(meeting_id: int) -> ResponseReturnValue:
    """One meeting as an invitation file for her calendar."""
    entry = calendar_feed.meeting_entry(db.session(), g.principal, meeting_id)
    if entry is None:
        abort(404)
    return _ics_response(to_ics([entry], _("Network meeting")), f"netvaerksmoede-{meeting_id}.ics")


def _page(secret: str | None, notice: str | None) -> str:
    url = url_for("web.calendar_feed_ics", secret=secret, _external=True) if secret else None
    created = calendar_feed.feed_created_at(db.session(), g.principal)
    return render_template("calendar.html", feed_url=url, created=created, notice=notice)


@bp.get("/calendar")
@login_required
def calendar_page() -> ResponseReturnValue:
    """Her calendar feed: whether she has one, and the buttons to make, renew or end it."""
    return _page(None, None)


@bp.post("/calendar/feed")
@login_required
def calendar_issue() -> ResponseReturnValue:
    """A new feed URL (an earlier one stops working); shown this once."""
    secret = calendar_feed.issue_feed(db.session(), g.principal, utcnow())
    return _page(secret, _("Your calendar address is ready. Copy it now: it is shown only once."))


@bp.post("/calendar/feed/revoke")
@login_required
def calendar_revoke() -> ResponseReturnValue:
    """The feed URL stops working."""
    calendar_feed.revoke_feed(db.session(), g.principal)
    return _page(None, _("Your calendar address no longer works."))


def calendar_today(session: Session, principal: Principal, now: datetime) -> Section | None:
    """A small Today section leading to her calendar address (nurses only)."""
    if not principal.has(Role.NURSE):
        return None
    created = calendar_feed.feed_created_at(session, principal)
    return Section(
        key="calendar",
        title=_("Calendar"),
        template="_calendar_section.html",
        context={"created": created},
    )
