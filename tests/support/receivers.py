"""Real servers on loopback for delivery tests: an HTTP receiver and an SMTP server."""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bridge.domain.notifications.destinations import DestinationPolicy

#: The receivers here listen on loopback, which Bridge delivers to only when allowed.
LOOPBACK = DestinationPolicy.parse("127.0.0.1")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    # A real receiver's listen backlog: the stdlib's 5 resets connections when a
    # dispatcher's sending threads connect at once.
    request_queue_size = 128


@dataclass
class HttpReceiver:
    """Records every POST; answers from a script of responses, then with ``default``."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    default: tuple[int, dict[str, str], bytes] = (200, {}, b"")
    # Seconds to stall before answering, one per request, for a receiver that is slow a while.
    delays: deque = field(default_factory=deque)
    # Fixed answers per path, before the script: the dispatcher sends a batch concurrently, so
    # the order in which paths arrive is not fixed.
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    delay = receiver.delays.popleft() if receiver.delays else 0
                if delay:
                    time.sleep(delay)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status, headers, answer = (
                        receiver.routes.get(self.path)
                        or (receiver.script.popleft() if receiver.script else None)
                        or receiver.default
                    )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
