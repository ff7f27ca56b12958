"""Over-long URLs: the app answers 414 problem+json itself below gunicorn's request-line limit, and
a real gunicorn with the project's settings refuses an absurd request line above it (gunicorn's
own answer, plain text, as the README says)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge import gunicorn_conf
from bridge.api.http import MAX_URL_BYTES

ROOT = Path(__file__).resolve().parents[2]


def test_an_over_long_url_is_a_414_problem(make_actor):
    nurse = make_actor("nurse")
    r = nurse.get("/api/v1/patients", query_string={"name": "a" * MAX_URL_BYTES})
    assert r.status_code == 414
    assert r.mimetype == "application/problem+json"
    assert r.json["status"] == 414 and "_url" in r.json["errors"]
    # The web pages too, before anything else looks at the request.
    assert nurse.client.get("/caseload?name=" + "a" * MAX_URL_BYTES).status_code == 414


def test_the_longest_url_the_api_makes_is_well_inside_the_limit(make_actor):
    nurse = make_actor("nurse")
    cursor = "A" * 500  # the longest cursor the API takes
    url = "/api/v1/follow-ups?" + "&".join(
        [f"cursor={cursor}", "limit=200", "status=open", "responsible=123456789",
         "due_before=2030-01-01T00:00:00%2B01:00", "patient=123456789"]
    )  # fmt: skip
    assert len(url) < MAX_URL_BYTES / 4
    assert nurse.get(url).status_code == 422  # the forged cursor, not the length


def test_gunicorn_limits_sit_above_the_apps():
    assert gunicorn_conf.limit_request_line > MAX_URL_BYTES + len("GET  HTTP/1.1")
    assert gunicorn_conf.limit_request_field_size >= 4096
    assert gunicorn_conf.limit_request_fields >= 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(port: int, request_line: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"{request_line}\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def gunicorn(database_url, app, tmp_path) -> int:
    port = _free_port()
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:bridge.gunicorn_conf",
                "bridge.wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text()[-2000:]) from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_real_gunicorn_answers_both_limits(gunicorn):
    # Above the app's limit, below gunicorn's: the app's own problem+json.
    answer = _ask(gunicorn, f"GET /api/v1/patients?name={'a' * (MAX_URL_BYTES + 100)} HTTP/1.1")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414"), head
    assert b"application/problem+json" in head and json.loads(body)["status"] == 414
    # An absurd request line: gunicorn refuses it before the app sees it.
    answer = _ask(gunicorn, f"GET /api/v1/patients?name={'a' * 100_000} HTTP/1.1")
    assert answer.startswith(b"HTTP/1.1 414"), answer[:200]
    assert b"application/problem+json" not in answer
