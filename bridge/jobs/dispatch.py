"""The notification dispatcher as a scheduled job and as ``bridge dispatch``.

Unlike the other jobs it is not single-instance: several dispatchers may run at once (rows are
claimed with ``FOR UPDATE SKIP LOCKED``), and it commits its own claims and outcomes, because no
transaction may stay open while a message is on the wire. So it is registered with
``lock=False`` and works in a session of its own rather than the runner's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bridge.adapters.dispatch_types import DispatchSettings
from bridge.adapters.dispatcher import dispatch_once
from bridge.adapters.transport import SmtpSettings, Transport
from bridge.config import endpoint_policy
from bridge.documents.minutes_pdf import minutes_attachments
from bridge.domain.notifications.channels import RetryPolicy
from bridge.domain.notifications.messages import OrganisationRef

DEFAULT_BATCH_SIZE = 100


def _setting(config: Mapping[str, Any], name: str, default: Any = None) -> Any:
    return os.environ.get(name, config.get(name, default))


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def settings_from(config: Mapping[str, Any]) -> tuple[DispatchSettings, Transport]:
    """Dispatcher settings and a transport from the app config (environment wins)."""
    sor, gln = _setting(config, "MEDCOM_SENDER_SOR"), _setting(config, "MEDCOM_SENDER_GLN")
    sender = None
    if sor and gln:
        sender = OrganisationRef(_setting(config, "MEDCOM_SENDER_NAME", "Bridge"), sor, gln)
    settings = DispatchSettings(
        base_url=_setting(config, "BRIDGE_BASE_URL", "http://localhost:5000"),
        sender=sender,
        mail_from=_setting(config, "MAIL_FROM", "bridge@localhost"),
        policy=RetryPolicy(
            max_age=timedelta(hours=float(_setting(config, "NOTIFY_MAX_AGE_HOURS", 24)))
        ),
        lease=timedelta(seconds=float(_setting(config, "NOTIFY_LEASE_SECONDS", 300))),
        destinations=endpoint_policy(config),
        sender_phone=_setting(config, "MEDCOM_SENDER_PHONE") or None,
        attachments=minutes_attachments,
    )
    smtp = SmtpSettings(
        host=_setting(config, "SMTP_HOST", "localhost"),
        port=int(_setting(config, "SMTP_PORT", 25)),
        starttls=_flag(_setting(config, "SMTP_STARTTLS", "false")),
        username=_setting(config, "SMTP_USERNAME") or None,
        password=_setting(config, "SMTP_PASSWORD") or None,
    )
    timeout = float(_setting(config, "NOTIFY_HTTP_TIMEOUT_SECONDS", 10))
    return settings, Transport(http_timeout=timeout, smtp=smtp, destinations=settings.destinations)


def dispatch_notifications(session: Session, now: datetime) -> dict[str, Any]:
    """One dispatcher pass in a session of its own (the runner's session stays unused)."""
    from flask import current_app

    from bridge.extensions import db

    settings, transport = settings_from(current_app.config)
    own = Session(bind=db.engine)
    try:
        batch = int(_setting(current_app.config, "NOTIFY_BATCH_SIZE", DEFAULT_BATCH_SIZE))
        summary = dispatch_once(own, now, batch_size=batch, settings=settings, transport=transport)
    finally:
        own.close()
        transport.close()
    return summary.as_dict()
