"""The I/O the dispatcher does: HTTP POSTs and SMTP. Everything else is pure."""

from __future__ import annotations

import http.cookiejar
import smtplib
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from bridge.domain.notifications.destinations import DestinationPolicy

MAX_ANSWER_BYTES = 1 << 20  # of an HTTP answer's body; the rest is not read


class TransportError(Exception):
    """The message could not be handed over (refused, timed out, connection lost)."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


class DestinationRefused(Exception):
    """The connection reached an address Bridge may not deliver to."""


def _checked(connection_cls: type[HTTPConnection], policy: DestinationPolicy) -> type[Any]:
    """A connection class that refuses, once connected, a peer address the policy forbids.

    The address judged is the one the socket is connected to, not a second lookup of the name,
    so a name that resolves to a public address when registered and to a private one at
    delivery (DNS rebinding) gets nothing: the refusal comes before a byte is sent.
    """

    class Checked(connection_cls):  # type: ignore[misc,valid-type]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            address = sock.getpeername()[0]
            if not policy.address_allowed(self.host, address):
                sock.close()
                raise DestinationRefused(f"{address} is not a public address")
            return sock

    return Checked


class _CheckedAdapter(HTTPAdapter):
    def __init__(self, policy: DestinationPolicy, **kw: Any) -> None:
        self._policy = policy
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        http = type(
            "CheckedHTTPPool",
            (HTTPConnectionPool,),
            {"ConnectionCls": _checked(HTTPConnection, self._policy)},
        )
        https = type(
            "CheckedHTTPSPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": _checked(HTTPSConnection, self._policy)},
        )
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Receivers must not be able to set state that travels with later messages."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class Transport:
    """Sends over HTTP and SMTP with a timeout per attempt. One per dispatcher.

    Safe to call from the dispatcher's sending threads: the HTTP connection pool (keep-alive,
    up to ``http_connections`` per host) is thread-safe, and cookies are refused so the shared
    session holds no per-request state.
    """

    def __init__(
        self,
        *,
        http_timeout: float = 10.0,
        smtp: SmtpSettings | None = None,
        http_connections: int = 16,
        destinations: DestinationPolicy | None = None,
    ) -> None:
        self.http_timeout = http_timeout
        self.smtp = smtp or SmtpSettings()
        self._http = requests.Session()
        self._http.cookies.set_policy(_NoCookies())
        # A proxy from the environment would make the proxy the peer the address check judges.
        self._http.trust_env = False
        adapter = _CheckedAdapter(
            destinations or DestinationPolicy(),
            pool_connections=16,
            pool_maxsize=http_connections,
        )
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpResponse:
        """POST ``body``; any HTTP answer is returned, no answer raises TransportError."""
        try:
            with self._http.post(
                url, data=body, headers=headers, timeout=self.http_timeout, stream=True
            ) as r:
                # Read at most MAX_ANSWER_BYTES: an acknowledgement is small, and a receiver
                # must not be able to make the dispatcher hold an endless answer in memory.
                answer = bytearray()
                for chunk in r.iter_content(64 * 1024):
                    answer += chunk
                    if len(answer) >= MAX_ANSWER_BYTES:
                        break
        except requests.RequestException as exc:
            raise TransportError(type(exc).__name__) from None
        except DestinationRefused as exc:
            raise TransportError(f"destination refused: {exc}") from None
        return HttpResponse(
            status=r.status_code,
            headers={k.lower(): v for k, v in r.headers.items()},
            body=bytes(answer[:MAX_ANSWER_BYTES]),
        )

    def send_email(self, msg: EmailMessage) -> None:
        """Hand the message to the SMTP server; SMTP errors propagate for the caller to judge."""
        s = self.smtp
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(msg)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise  # the server answered: the caller tells permanent (5xx) from transient
        except OSError as exc:  # includes the other SMTPExceptions: disconnects, timeouts
            raise TransportError(type(exc).__name__) from None

    def close(self) -> None:
        self._http.close()
