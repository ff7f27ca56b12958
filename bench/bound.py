"""The physical bound of each endpoint: the same SQL without a framework.

For every benchmarked endpoint ``record`` captures, from one request through Bridge, the
statements it sent (text and parameters, in order), whether it committed, and the answer (status,
content type, body). ``app`` below is a bare WSGI application, psycopg2 and the standard library
only, that answers the same URL by sending those statements with those parameters on a
connection of its own, committing as Bridge did, and returning the same body. Run under the same
gunicorn settings and loaded with wrk beside Bridge in the same run, the ratio of the two request
rates says how much of each request's cost is Bridge itself rather than the data it needs.

    gunicorn -c python:bridge.gunicorn_conf bench.bound:app   # BRIDGE_BOUND_RECORDING=<file>
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORDING_VARIABLE = "BRIDGE_BOUND_RECORDING"


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any
    many: bool


@dataclass(frozen=True)
class Replay:
    """What one request through Bridge did, and what it answered."""

    statements: tuple[Statement, ...]
    commits: int
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@contextmanager
def _capturing(engine: Any) -> Iterator[tuple[list[Statement], list[int]]]:
    from sqlalchemy import event

    sent: list[Statement] = []
    commits = [0]

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(Statement(statement, parameters, executemany))

    def commit(conn) -> None:
        commits[0] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", commit)
    try:
        yield sent, commits
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", commit)


def record(app: Any, requests: Iterable[tuple[str, dict[str, str]]]) -> dict[str, Replay]:
    """One replay per URL: the second request to it, so that what a worker builds on its first
    request (caches of compiled statements, of the token's roles) is not counted."""
    from bridge.extensions import db

    client = app.test_client()
    out: dict[str, Replay] = {}
    with app.app_context():
        for url, headers in requests:
            client.get(url, headers=headers)
            with _capturing(db.engine) as (sent, commits):
                response = client.get(url, headers=headers)
            kept = ("Content-Type", "ETag", "Cache-Control")
            out[url] = Replay(
                statements=tuple(sent),
                commits=commits[0],
                status=response.status,
                headers=tuple((k, v) for k, v in response.headers.items() if k in kept),
                body=response.get_data(),
            )
    return out


def save(replays: dict[str, Replay], path: Path) -> None:
    path.write_bytes(pickle.dumps(replays))


def libpq_dsn(url: str) -> str:
    """SQLAlchemy's URL names its driver (``postgresql+psycopg://``); libpq's does not."""
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest


def make_app(replays: dict[str, Replay], url: str) -> Callable[..., Iterable[bytes]]:
    import psycopg2

    connection: list[Any] = []  # one per worker process, opened on its first request

    def bound(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING")
        key = environ["PATH_INFO"] + (f"?{query}" if query else "")
        replay = replays.get(key)
        if replay is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        if replay.statements or replay.commits:
            if not connection:
                connection.append(psycopg2.connect(libpq_dsn(url)))
            conn = connection[0]
            with conn.cursor() as cur:
                for s in replay.statements:
                    if s.many:
                        cur.executemany(s.sql, s.parameters)
                    else:
                        cur.execute(s.sql, s.parameters)
                        if cur.description is not None:
                            cur.fetchall()
            # Bridge commits every request (the audit rows); a read-only one ends its transaction.
            conn.commit() if replay.commits else conn.rollback()
        body = replay.body
        start_response(replay.status, [*replay.headers, ("Content-Length", str(len(body)))])
        return [body]

    return bound


def _from_environment() -> Callable[..., Iterable[bytes]]:
    path = os.environ.get(RECORDING_VARIABLE)
    if not path:
        raise RuntimeError(f"{RECORDING_VARIABLE} names the recording to replay")
    replays = pickle.loads(Path(path).read_bytes())
    return make_app(replays, os.environ["DATABASE_URL"])


def __getattr__(name: str) -> Any:
    # gunicorn imports ``bench.bound:app``; the recording is read only then, not on every import.
    if name == "app":
        return _from_environment()
    raise AttributeError(name)
