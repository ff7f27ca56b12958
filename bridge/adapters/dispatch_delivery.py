"""Delivering one job over its transport, outside any transaction, and reading the answer."""

from __future__ import annotations

import json
import smtplib
from datetime import datetime

from bridge.adapters.dispatch_types import RETRY, S, _Job, _Outcome, log
from bridge.adapters.fhir_acknowledgement import parse_acknowledgement as parse_ack
from bridge.adapters.transport import HttpResponse, Transport, TransportError
from bridge.domain.notifications import channels
from bridge.domain.notifications.messages import (
    Acknowledgement,
)
from bridge.domain.notifications.models import (
    Channel,
)

# --- delivering -------------------------------------------------------------------------------


def _deliver(job: _Job, transport: Transport, now: datetime) -> _Outcome:
    if job.error:
        return _Outcome(S.FAILED, error=job.error)
    try:
        if job.channel == Channel.EMAIL:
            assert job.email is not None
            transport.send_email(job.email)
            return _Outcome(S.DELIVERED)
        assert job.url is not None
        return _http_outcome(job, transport.post(job.url, job.body, job.headers), now)
    except TransportError as exc:
        return _Outcome(RETRY, error=f"transport: {exc}"[:500])
    except smtplib.SMTPRecipientsRefused:
        return _Outcome(S.FAILED, error="SMTP: recipient refused")
    except smtplib.SMTPResponseException as exc:
        code = exc.smtp_code
        return _Outcome(S.FAILED if code >= 500 else RETRY, error=f"SMTP {code}")
    except Exception as exc:  # a bug must not stop the batch; the row retries
        log.exception("delivery of notification %s failed", job.id)
        return _Outcome(RETRY, error=f"internal: {type(exc).__name__}")


def _http_outcome(job: _Job, r: HttpResponse, now: datetime) -> _Outcome:
    if 200 <= r.status < 300:
        if job.channel == Channel.WEBHOOK:
            return _Outcome(S.DELIVERED)
        return _Outcome(S.SENT, ack=_ack_in_body(r.body, job.message_header_id))
    if r.status == 410:
        return _Outcome(
            S.FAILED, error="HTTP 410", disable_endpoint="the receiver answered 410 Gone"
        )
    retry_after = None
    if r.status in (429, 503):
        retry_after = channels.parse_retry_after(r.headers.get("retry-after"), now)
    return _Outcome(RETRY, error=f"HTTP {r.status}", retry_after=retry_after)


def _ack_in_body(body: bytes, header_id: str | None) -> Acknowledgement | None:
    """A receiver may answer the POST with its Acknowledgement; anything else is ignored."""
    if not body:
        return None
    try:
        ack = parse_ack(json.loads(body))
    except ValueError:
        return None
    return ack if ack.acknowledged_message_header_id == header_id else None
