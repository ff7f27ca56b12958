"""Messages from the other sectors on the nurse's pages: new ones at the top of Today, the
patient's threads on her page with a reply and a forward, attachments to download."""

from __future__ import annotations

from datetime import datetime

from flask import Response, g, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.base import utcnow
from bridge.domain.messaging import replies
from bridge.domain.messaging import services as messaging
from bridge.domain.registry.models import Role
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.forms import int_field, text_field
from bridge.web.sections import Section, SectionItem


def messages_today(session: Session, p: Principal, now: datetime) -> Section | None:
    """Patients with messages nobody has read yet: the first thing on Today when there are any."""
    if not p.has(Role.NURSE, Role.ADMIN):
        return None
    new = messaging.new_messages(session, p)
    if not new:
        return None
    return Section(
        key="messages",
        title=_("New messages"),
        items=[
            SectionItem(
                title=ngettext("%(num)s new message", "%(num)s new messages", m.count),
                href=url_for("web.patient", patient_id=m.patient_id) + "#section-messages",
                patient_name=m.patient_name,
                severity="warning",
                when=m.latest_at,
            )
            for m in new
        ],
    )


def messages_panel(
    session: Session, p: Principal, patient_id: int, now: datetime
) -> Section | None:
    """The patient's message threads, when there are any; opening the page is reading them."""
    threads = messaging.list_patient_threads(session, p, patient_id)
    if not threads:
        return None
    may_answer = p.has(Role.NURSE, Role.ADMIN)
    recipients = replies.forward_recipients(session, p, patient_id) if may_answer else []
    messaging.mark_read(session, p, patient_id, now)
    return Section(
        key="messages",
        title=_("Messages"),
        template="_messages_panel.html",
        empty_text=_("No messages about this patient."),
        context={"threads": threads, "recipients": recipients, "may_answer": may_answer},
    )


def _back(patient_id: int, message_id: int) -> ResponseReturnValue:
    return redirect(url_for("web.patient", patient_id=patient_id) + f"#message-{message_id}", 303)


@bp.post("/messages/<int:message_id>/reply")
@login_required
def message_reply(message_id: int) -> ResponseReturnValue:
    """Answer a received message; it goes to its sender as a MedCom reply."""
    cmd = replies.Reply(text=text_field("text", replies.TEXT_MAX))
    sent = replies.reply_to_message(db.session(), g.principal, message_id, cmd, utcnow())
    return _back(sent.patient_id, sent.id)


@bp.post("/messages/<int:message_id>/forward")
@login_required
def message_forward(message_id: int) -> ResponseReturnValue:
    """Pass a received message on to another organisation, with a note."""
    cmd = replies.Forward(
        recipient_organisation_id=int_field("recipient_organisation_id") or 0,
        text=text_field("text", replies.TEXT_MAX),
    )
    sent = replies.forward_message(db.session(), g.principal, message_id, cmd, utcnow())
    return _back(sent.patient_id, sent.id)


@bp.get("/message-attachments/<int:attachment_id>")
@login_required
def message_attachment(attachment_id: int) -> ResponseReturnValue:
    """A received attachment, downloaded (never shown inline: it is the sender's document)."""
    attachment = messaging.get_attachment(db.session(), g.principal, attachment_id)
    filename = (attachment.title or f"bilag-{attachment.id}").replace('"', "")
    return Response(
        attachment.data or b"",
        mimetype=attachment.content_type or "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
