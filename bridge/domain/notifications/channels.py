"""Pure message building for each channel: webhook signing, FHIR envelopes, email notices.

No I/O here; ``transport`` sends what these functions build.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from typing import Any, Final

WEBHOOK_SECRET_PREFIX: Final = "whsec_"
WEBHOOK_SECRET_BYTES: Final = 32  # the spec asks for at least 24
FHIR_CONTENT_TYPE: Final = "application/fhir+json"
#: The largest message Bridge sends, attachments included (the serialised Bundle). MedCom's
#: profiles set no figure; this keeps a message well inside what MedCom's network providers
#: carry, and the minutes PDF (tens of kilobytes) far below it.
MAX_MESSAGE_BYTES: Final = 2 * 1024 * 1024
#: MedCom category per notification kind (CodeSystem medcom-careCommunication-categoryCodes).
CATEGORY_BY_KIND: Final = {
    "minutes_final": "carecoordination",
    "minutes_amended": "carecoordination",
    "discharge": "discharge",
    "task_assigned": "carecoordination",
    "task_overdue": "carecoordination",
}


# --- webhooks (Standard Webhooks) -------------------------------------------------------------


def generate_webhook_secret() -> str:
    """A new random secret in the Standard Webhooks form ``whsec_<base64>``."""
    raw = secrets.token_bytes(WEBHOOK_SECRET_BYTES)
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(raw).decode()


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))


def webhook_signature(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<sig>`` per secret, space separated."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secrets_:
        digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(digest).decode())
    return " ".join(parts)


def webhook_body(
    *,
    notification_id: int,
    kind: str,
    ref: dict[str, Any],
    link: str,
    now: datetime,
    inbox_url: str | None = None,
) -> bytes:
    """The thin payload: ids, kind and links; the receiver fetches content through the API.

    ``notification_id`` is the recipient's inbox item (``GET /inbox/{id}``, ``POST
    /inbox/{id}/ack``), the one id the receiver can use; ``link`` is the resource itself.
    """
    data: dict[str, Any] = {"notification_id": notification_id, "kind": kind, "ref": ref}
    data["link"] = link
    if inbox_url is not None:
        data["inbox_item_id"] = notification_id
        data["inbox_url"] = inbox_url
    payload = {
        "type": f"notification.{kind}",
        "timestamp": now.isoformat(timespec="seconds"),
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_headers(msg_id: str, secrets_: list[str], body: bytes, now: datetime) -> dict[str, str]:
    """Headers of one attempt: the id stays, the timestamp and signature are per attempt."""
    timestamp = int(now.timestamp())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(secrets_, msg_id, timestamp, body),
    }


# --- FHIR -------------------------------------------------------------------------------------


def category_for(kind: str) -> str:
    """MedCom CareCommunication category: discharges are ``discharge``, the rest coordination.

    Network meetings and their tasks coordinate the care of one person across sectors, which
    is MedCom's ``carecoordination`` (forløbskoordinering).
    """
    if kind in CATEGORY_BY_KIND:
        return CATEGORY_BY_KIND[kind]
    return "discharge" if kind.startswith("discharge") else "carecoordination"


# --- email ------------------------------------------------------------------------------------


def email_message(
    *, sender: str, recipient: str, subject: str, body: str, now: datetime, msg_id: str
) -> EmailMessage:
    """A plain-text notice; ``msg_id`` keeps the Message-ID stable across retries."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    domain = sender.rpartition("@")[2] or "bridge.invalid"
    msg["Message-ID"] = make_msgid(idstring=msg_id.replace(":", "."), domain=domain)
    msg.set_content(body)
    return msg


# --- retries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, until ``max_age`` after the event."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_age: timedelta = timedelta(hours=24)
    ack_timeout: timedelta = timedelta(minutes=30)  # MedCom: resend without an ack after this
    max_resends: int = 2
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int) -> timedelta:
        """The wait before the next attempt, after ``attempts`` attempts."""
        ceiling = min(self.cap, self.base * (2 ** max(attempts - 1, 0)))
        # Half fixed, half random: spreads a burst of retries without ever retrying at once.
        return ceiling / 2 + ceiling / 2 * self.rng.random()


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))
