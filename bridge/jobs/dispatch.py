"""The notification dispatcher as a scheduled job and as ``bridge dispatch``.

Unlike the other jobs it is not single-instance: several dispatchers may run at once (rows are
claimed with ``FOR UPDATE SKIP LOCKED``), and it commits its own claims and outcomes, because no
transaction may stay open while a message is on the wire. So it is registered with
``lock=False`` and works in a session of its own rather than the runner's.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bridge.adapters.dispatch_types import DispatchSettings
from bridge.adapters.dispatcher import dispatch_once
from bridge.adapters.transport import SmtpSettings, Transport
from bridge.config import Settings
from bridge.documents.minutes_pdf import minutes_attachments
from bridge.domain.base import utcnow
from bridge.domain.notifications.messages import OrganisationRef


def settings_from(settings: Settings) -> tuple[DispatchSettings, Transport]:
    """The dispatcher's settings and a transport, from Bridge's settings."""
    sender = None
    if settings.MEDCOM_SENDER_SOR and settings.MEDCOM_SENDER_GLN:
        sender = OrganisationRef(
            settings.MEDCOM_SENDER_NAME, settings.MEDCOM_SENDER_SOR, settings.MEDCOM_SENDER_GLN
        )
    dispatch = DispatchSettings(
        base_url=settings.BRIDGE_BASE_URL,
        sender=sender,
        mail_from=settings.MAIL_FROM,
        policy=settings.retry_policy(),
        lease=timedelta(seconds=settings.NOTIFY_LEASE_SECONDS),
        destinations=settings.BRIDGE_ENDPOINT_ALLOWED_HOSTS,
        sender_phone=settings.MEDCOM_SENDER_PHONE,
        attachments=minutes_attachments,
    )
    smtp = SmtpSettings(
        host=settings.SMTP_HOST,
        port=settings.SMTP_PORT,
        starttls=settings.SMTP_STARTTLS,
        username=settings.SMTP_USERNAME,
        password=settings.SMTP_PASSWORD,
    )
    transport = Transport(
        http_timeout=settings.NOTIFY_HTTP_TIMEOUT_SECONDS,
        smtp=smtp,
        destinations=dispatch.destinations,
    )
    return dispatch, transport


# How long one run may keep draining the outbox before it lets the next run take over.
DRAIN_SECONDS = 60


def dispatch_notifications(
    session: Session, now: datetime, *, settings: Settings
) -> dict[str, Any]:
    """Dispatcher passes in a session of its own (the runner's session stays unused), one after
    another while each finds a full batch: a burst (a thousand minutes finalised at once) goes
    out at the dispatcher's pace instead of one batch per interval."""
    dispatch, transport = settings_from(settings)
    own = Session(bind=session.get_bind())
    totals: dict[str, Any] = {}
    deadline = time.monotonic() + DRAIN_SECONDS
    try:
        while True:
            summary = dispatch_once(
                own,
                utcnow(),
                batch_size=settings.NOTIFY_BATCH_SIZE,
                settings=dispatch,
                transport=transport,
            )
            for key, value in summary.as_dict().items():
                totals[key] = totals.get(key, 0) + value
            if summary.claimed < settings.NOTIFY_BATCH_SIZE or time.monotonic() > deadline:
                break
    finally:
        own.close()
        transport.close()
    return totals
