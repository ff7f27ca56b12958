"""Each web worker's resident memory after REQUESTS requests over every benchmarked endpoint.

gunicorn runs with the production settings (bridge/gunicorn_conf.py); wrk sends the requests,
each endpoint in turn as the role that may call it, until REQUESTS have been answered; then the
resident set size (VmRSS) of every worker is read from /proc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

REQUESTS = 20_000
TARGET_MB = 200


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


def _script(requests: list[tuple[str, str]], total: int, threads: int) -> str:
    """wrk's Lua: each request the next endpoint with its caller's token; each thread stops
    after its share of ``total`` answers."""
    paths = ", ".join(f'"{path}"' for path, _ in requests)
    tokens = ", ".join(f'"{token}"' for _, token in requests)
    return f"""
local paths = {{{paths}}}
local tokens = {{{tokens}}}
local i = 0
local answered = 0
request = function()
  i = i + 1
  local k = (i % #paths) + 1
  return wrk.format("GET", paths[k], {{["Authorization"] = "Bearer " .. tokens[k]}})
end
response = function(status, headers, body)
  answered = answered + 1
  if answered >= {total // threads} then wrk.thread:stop() end
end
"""


def measure_memory(app: Any, url: str, tokens: dict, ids: dict) -> tuple[str, list[str]]:
    from bench.run import ENDPOINTS, _serve, _wait_for

    wrk = shutil.which("wrk")
    if wrk is None:
        return "Memory", ["wrk is not installed: not measured."]
    requests = [(ep.path(ids), tokens[ep.role]) for ep in ENDPOINTS]
    threads = 2
    server, port = _serve(
        "bridge.wsgi:app", {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    )
    try:
        _wait_for(port, "/health")
        workers = _children(server.pid)
        before = {pid: resident_mb(pid) for pid in workers}
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(_script(requests, REQUESTS, threads))
        command = [wrk, "-t", str(threads), "-c", "8", "-d", "600s", "-s", f.name]
        subprocess.run([*command, f"http://127.0.0.1:{port}"], capture_output=True, check=False)
        Path(f.name).unlink()
        after = {pid: resident_mb(pid) for pid in _children(server.pid)}
    finally:
        server.terminate()
        server.wait(10)
    rows = [
        f"{REQUESTS:,} requests over the {len(requests)} endpoints above, 8 connections.",
        "",
        "| worker | RSS at start (MB) | RSS after (MB) | target |",
        "| ---: | ---: | ---: | --- |",
    ]
    for n, pid in enumerate(sorted(after), 1):
        verdict = "met" if after[pid] < TARGET_MB else "MISSED"
        start = f"{before[pid]:.0f}" if pid in before else "(restarted)"
        rows.append(f"| {n} | {start} | {after[pid]:.0f} | < {TARGET_MB} MB: {verdict} |")
    return "Web worker memory", rows
