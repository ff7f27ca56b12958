"""Each web worker's resident memory after REQUESTS requests over every benchmarked endpoint.

gunicorn runs with the production settings (bridge/gunicorn_conf.py); eight keep-alive
connections send REQUESTS requests in all, each endpoint in turn as the role that may call it;
then the resident set size (VmRSS) of every worker is read from /proc.
"""

from __future__ import annotations

import http.client
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

REQUESTS = 20_000
TARGET_MB = 200
CONNECTIONS = 8


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")


def _drive(port: int, requests: list[tuple[str, str]], total: int, connections: int) -> Counter:
    """Send ``total`` requests over ``connections`` keep-alive connections, each endpoint in
    turn with its caller's token; the answers' status codes, counted."""
    statuses: Counter = Counter()
    lock = threading.Lock()

    def one_connection(offset: int, count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        seen: Counter = Counter()
        for n in range(count):
            path, token = requests[(offset + n) % len(requests)]
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            seen[response.status] += 1
        conn.close()
        with lock:
            statuses.update(seen)

    share = total // connections
    threads = [
        threading.Thread(target=one_connection, args=(i, share + (i < total % connections)))
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def measure_memory(app: Any, url: str, tokens: dict, ids: dict) -> tuple[str, list[str]]:
    from bench.run import ENDPOINTS, _serve, _wait_for

    requests = [(ep.path(ids), tokens[ep.role]) for ep in ENDPOINTS]
    server, port = _serve(
        "bridge.wsgi:app", {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    )
    try:
        _wait_for(port, "/health")
        workers = _children(server.pid)
        before = {pid: resident_mb(pid) for pid in workers}
        statuses = _drive(port, requests, REQUESTS, CONNECTIONS)
        after = {pid: resident_mb(pid) for pid in _children(server.pid)}
    finally:
        server.terminate()
        server.wait(10)
    rows = [
        f"{sum(statuses.values()):,} requests over the {len(requests)} endpoints above, "
        f"{CONNECTIONS} connections; answers: "
        + ", ".join(f"{count:,} of {status}" for status, count in sorted(statuses.items()))
        + ".",
        "",
        "| worker | RSS at start (MB) | RSS after (MB) | target |",
        "| ---: | ---: | ---: | --- |",
    ]
    for n, pid in enumerate(sorted(after), 1):
        verdict = "met" if after[pid] < TARGET_MB else "MISSED"
        start = f"{before[pid]:.0f}" if pid in before else "(restarted)"
        rows.append(f"| {n} | {start} | {after[pid]:.0f} | < {TARGET_MB} MB: {verdict} |")
    return "Web worker memory", rows
