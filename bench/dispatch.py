"""Dispatcher throughput: webhook notifications delivered per second by two dispatchers.

A small receiver on loopback answers every POST with 204 and counts the ``webhook-id`` headers
it has seen, so duplicates show. The dispatchers are separate processes running the real
``dispatch_once`` against the benchmark database, as ``bridge dispatch`` would on two hosts.

    python -m bench.dispatch receive PORT        # the receiver
    python -m bench.dispatch work DATABASE_URL   # one dispatcher, until the outbox is empty
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MESSAGES = 6000
DISPATCHERS = 2
TARGET_PER_SECOND = 500


def receive(port: int) -> None:
    """Serve until killed: POST → 204 and count ids; GET /stats → the counts as JSON."""
    seen: dict[str, int] = {}
    lock = threading.Lock()
    delay = float(os.environ.get("BRIDGE_BENCH_RECEIVER_DELAY_MS", "0")) / 1000

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would offer

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            if delay:  # a receiver across a network, not on loopback
                time.sleep(delay)
            key = self.headers.get("webhook-id") or ""
            with lock:
                seen[key] = seen.get(key, 0) + 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                body = json.dumps({"received": sum(seen.values()), "unique": len(seen)}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def work(url: str) -> None:
    """One dispatcher: claim and deliver batches until two claims in a row come back empty."""
    from bridge import create_app
    from bridge.adapters.dispatch_types import DispatchSettings
    from bridge.adapters.dispatcher import dispatch_once
    from bridge.adapters.transport import Transport
    from bridge.domain.base import utcnow
    from bridge.domain.notifications.destinations import DestinationPolicy
    from bridge.extensions import db

    # The product's settings (synchronous_commit on): what a deployment would see.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    delivered, empty = 0, 0
    # One transport for the whole run, as a long-running dispatcher keeps its connections.
    # The benchmark's receiver listens on loopback, which must be allowed explicitly.
    transport = Transport(
        http_connections=DispatchSettings().workers,
        destinations=DestinationPolicy.parse("127.0.0.1"),
    )
    with app.app_context():
        while empty < 2:
            summary = dispatch_once(db.session, utcnow(), batch_size=100, transport=transport)
            delivered += summary.delivered
            empty = empty + 1 if summary.claimed == 0 else 0
            if summary.claimed == 0:
                time.sleep(0.05)
    transport.close()
    print(json.dumps({"delivered": delivered}))


def _enqueue(app, receiver_url: str, organisation_id: int) -> None:
    """MESSAGES pending webhook notifications to one endpoint, due now."""
    from sqlalchemy import select

    from bridge.domain.base import utcnow
    from bridge.domain.notifications.models import Channel, DeliveryEndpoint, Notification
    from bridge.extensions import db
    from bridge.sampledata.world import bulk_insert, next_id, reset_sequences

    with app.app_context():
        s = db.session
        # A database reused from an earlier run (--reuse) has the endpoint already: one per
        # organisation and channel, pointed at this run's receiver.
        endpoint = s.scalar(
            select(DeliveryEndpoint).where(
                DeliveryEndpoint.organisation_id == organisation_id,
                DeliveryEndpoint.channel == Channel.WEBHOOK,
            )
        ) or DeliveryEndpoint(organisation_id=organisation_id, channel=Channel.WEBHOOK)
        endpoint.url = receiver_url
        endpoint.secret = "whsec_" + "b" * 32
        endpoint.active, endpoint.disabled_reason = True, None
        s.add(endpoint)
        s.flush()
        now = utcnow()
        first = next_id(s, Notification)
        bulk_insert(
            s,
            Notification,
            (
                {
                    "id": first + i,
                    "recipient_organisation_id": organisation_id,
                    "patient_id": None,
                    "channel": Channel.WEBHOOK,
                    "endpoint_id": endpoint.id,
                    "kind": "minutes",
                    "payload": {"ref": {"type": "bench", "id": i}, "link": f"/bench/{i}"},
                    "event_key": f"bench:{first + i}",
                    "idempotency_key": f"bench:{first + i}:webhook",
                    "status": "pending",
                    "attempts": 0,
                    "resends": 0,
                    "next_attempt_at": now - timedelta(seconds=1),
                    "created_at": now,
                }
                for i in range(MESSAGES)
            ),
        )
        # Explicit ids: the notifications Bridge enqueues later must draw ids past them.
        reset_sequences(s)
        s.commit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
        return json.loads(r.read())


def measure_dispatch(app, url: str, tokens, ids) -> tuple[str, list[str]]:
    """Start the receiver and two dispatchers; report deliveries per second and duplicates."""
    port = _free_port()
    receiver = subprocess.Popen([sys.executable, "-m", "bench.dispatch", "receive", str(port)])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        _enqueue(app, f"http://127.0.0.1:{port}/hook", ids["municipality_id"])
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        started = time.perf_counter()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.dispatch", "work", url],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(DISPATCHERS)
        ]
        outputs = [w.communicate(timeout=300)[0] for w in workers]
        # The workers wait ~0.1 s on an empty outbox before they stop; not delivery time.
        seconds = time.perf_counter() - started - 0.1
        delivered = sum(json.loads(o.strip().splitlines()[-1])["delivered"] for o in outputs)
        stats = _stats(port)
    finally:
        receiver.terminate()
        receiver.wait(10)
    rate = stats["unique"] / seconds
    duplicates = stats["received"] - stats["unique"]
    verdict = "met" if rate >= TARGET_PER_SECOND and duplicates == 0 else "MISSED"
    return (
        "Dispatcher",
        [
            "| messages | dispatchers | delivered | received | duplicates | seconds | per second "
            "| target |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            f"| {MESSAGES} | {DISPATCHERS} | {delivered} | {stats['received']} | {duplicates} "
            f"| {seconds:.1f} | {rate:.0f} | ≥ {TARGET_PER_SECOND}/s, 0 duplicates: {verdict} |",
        ],
    )


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(int(sys.argv[2]))
    else:
        work(sys.argv[2])
