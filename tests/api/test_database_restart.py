"""PostgreSQL stopped and started under load: no request answers 500; while the database is away
every answer is 503 problem+json with Retry-After; afterwards the same process answers 200.

The cluster is a throwaway one of the test's own (initdb into a temporary directory, a free
port): the shared cluster on 5432 is never stopped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import exc as sa_exc
from werkzeug.serving import make_server

from bridge.domain.registry.admin import create_admin
from bridge.extensions import db
from bridge.unit_of_work import is_database_unavailable


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster in a temporary directory, run as the postgres user."""

    def __init__(self, bindir: Path, datadir: Path, port: int) -> None:
        self.bindir, self.datadir, self.port = bindir, datadir, port

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"
        self.ctl("-o", options, "-l", str(self.datadir / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "-w", "stop")

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = _binaries()
    if bindir is None or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL's server binaries and root (to run them as postgres)")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user")
    top = Path(tempfile.mkdtemp(prefix="bridge-restart-"))
    os.chown(top, postgres.pw_uid, postgres.pw_gid)
    datadir = top / "data"
    c = Cluster(bindir, datadir, _free_port())
    c._run(str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-N")
    c.start()
    try:
        conn = psycopg.connect(host="127.0.0.1", port=c.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE bridge")
        conn.close()
        yield c
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            c.stop("immediate")
        shutil.rmtree(top, ignore_errors=True)


def _serve(app) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def test_stopping_and_starting_postgresql_under_load_never_answers_500(cluster, make_app):
    app = make_app({"SQLALCHEMY_DATABASE_URI": cluster.url("bridge"), "TESTING": True})
    with app.app_context():
        upgrade()
        token = create_admin(db.session, name="Restart admin", email=None)
        db.session.commit()
        db.session.remove()
    base, server = _serve(app)
    headers = {"Authorization": f"Bearer {token}"}
    answers: list[tuple[float, str, int, str, str | None]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(path: str, method: str = "GET", body: dict | None = None) -> None:
        with requests.Session() as http:
            while not stop.is_set():
                try:
                    r = http.request(method, base + path, headers=headers, json=body, timeout=10)
                except requests.RequestException as exc:  # the test's server never goes away
                    with lock:
                        answers.append((time.monotonic(), path, 0, repr(exc), None))
                    continue
                with lock:
                    answers.append(
                        (time.monotonic(), path, r.status_code,
                         r.headers.get("Content-Type", ""), r.headers.get("Retry-After"))
                    )  # fmt: skip
                time.sleep(0.005)

    workers = [
        threading.Thread(target=load, args=(path,), kwargs=kw, daemon=True)
        for path, kw in [
            ("/api/v1/patients", {}),
            ("/api/v1/organisations", {}),
            ("/api/v1/staff", {}),
            ("/api/v1/jobs/runs", {}),
            ("/api/v1/nurses", {}),
            ("/api/v1/patients/1", {}),
        ]
    ]
    try:
        for w in workers:
            w.start()
        time.sleep(1.0)
        stopped_at = time.monotonic()
        cluster.stop("fast")
        time.sleep(2.0)
        cluster.start()
        started_at = time.monotonic()
        # Recovery without a restart of the service: within a few seconds every list answers.
        deadline = started_at + 20
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with lock:
                recent = [a for a in answers if a[0] > time.monotonic() - 1.0]
            if recent and all(a[2] in (200, 404) for a in recent):
                break
        time.sleep(1.0)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=15)
        server.shutdown()

    errors = [a for a in answers if a[2] == 0 or (a[2] >= 500 and a[2] != 503)]
    assert errors == [], errors[:10]
    down = [a for a in answers if a[2] == 503]
    assert down, "no request ran while the database was away"
    assert all(a[3] == "application/problem+json" and a[4] for a in down), down[:5]
    assert all(stopped_at <= a[0] for a in down)
    before = [a for a in answers if a[0] < stopped_at]
    after = [a for a in answers if a[0] > time.monotonic() - 1.5]
    assert before and all(a[2] in (200, 404) for a in before), before[-5:]
    assert after and all(a[2] in (200, 404) for a in after), after[-5:]


def test_shutting_down_terminated_and_refused_all_count_as_unavailable(cluster):
    """The answers libpq gives in the window of a shutdown, each classified as unavailability."""
    held = psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="bridge")
    # A smart shutdown waits for the held session, and meanwhile refuses every new one.
    cluster.ctl("-m", "smart", "-W", "stop")
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not seen:
        try:
            psycopg.connect(
                host="127.0.0.1", port=cluster.port, user="postgres", dbname="bridge"
            ).close()
            time.sleep(0.05)
        except psycopg.OperationalError as exc:
            seen.append(exc)
    assert seen and "shutting down" in str(seen[0])
    # Terminated by a fast shutdown: the held session's next statement fails.
    cluster.stop("fast")
    with pytest.raises(psycopg.Error) as terminated, held.cursor() as cur:
        cur.execute("SELECT 1")
    held.close()
    try:
        psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="bridge")
    except psycopg.OperationalError as exc:
        refused = exc
    for orig in (seen[0], terminated.value, refused):
        wrapped = sa_exc.DBAPIError.instance("SELECT 1", {}, orig, psycopg.Error)
        assert is_database_unavailable(wrapped), (type(orig), str(orig))
    # A mistake in a statement is not unavailability.
    bad = psycopg.errors.lookup("42601")("syntax error at or near")
    assert not is_database_unavailable(sa_exc.DBAPIError.instance("x", {}, bad, psycopg.Error))
