"""Changing a meeting from its page: reschedule or move a meeting not yet held, cancel it with a
reason, and start an amendment of final minutes. The same domain services as the API; a refused
form shows the meeting page again with the reason in Danish."""

from __future__ import annotations

from flask import g, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bridge.domain.errors import DomainError
from bridge.domain.meetings import minutes as minutes_service
from bridge.domain.meetings import scheduling
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.domain_texts import domain_text
from bridge.web.forms import FormError, at, date_field, text_field, time_field
from bridge.web.meetings import render_meeting


def _refused(meeting_id: int, key: str, message: str) -> ResponseReturnValue:
    db.session.rollback()
    return render_meeting(meeting_id, errors={key: message}, status=422)


@bp.post("/meetings/<int:meeting_id>/reschedule")
@login_required
def meeting_reschedule(meeting_id: int) -> ResponseReturnValue:
    """Move a planned (or requested) meeting to another time or place."""
    session = db.session()
    try:
        day = date_field("date")
        data = {
            "scheduled_start": at(day, time_field("start")),
            "scheduled_end": at(day, time_field("end")),
            "place": text_field("place", 300) or None,
        }
        meeting = scheduling.get_meeting_for_update(session, g.principal, meeting_id)
        scheduling.update_meeting(session, g.principal, meeting, data)
    except FormError as exc:
        return _refused(meeting_id, "reschedule", exc.message)
    except DomainError as exc:
        return _refused(meeting_id, "reschedule", domain_text(exc))
    return redirect(url_for("web.meeting", meeting_id=meeting_id), 303)


@bp.post("/meetings/<int:meeting_id>/cancel")
@login_required
def meeting_cancel(meeting_id: int) -> ResponseReturnValue:
    """Cancel a meeting not yet held; the reason is required and kept."""
    try:
        reason = text_field("cancel_reason", 500, required=True)
        scheduling.cancel_meeting(db.session(), g.principal, meeting_id, reason)
    except FormError:
        return _refused(meeting_id, "cancel", _("Write why the meeting is cancelled."))
    except DomainError as exc:
        return _refused(meeting_id, "cancel", domain_text(exc))
    return redirect(url_for("web.meeting", meeting_id=meeting_id), 303)


@bp.post("/meetings/<int:meeting_id>/amend")
@login_required
def minutes_amend(meeting_id: int) -> ResponseReturnValue:
    """Start a correction of the final minutes: a new draft version with the reason."""
    try:
        reason = text_field("amendment_reason", 500, required=True)
        minutes_service.amend_minutes(db.session(), g.principal, meeting_id, {"reason": reason})
    except FormError:
        return _refused(meeting_id, "amend", _("Write why the minutes are corrected."))
    except DomainError as exc:
        return _refused(meeting_id, "amend", domain_text(exc))
    return redirect(url_for("web.meeting", meeting_id=meeting_id) + "#minutes-form", 303)
