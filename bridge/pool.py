"""Pooled PostgreSQL connections: a dead one is replaced at checkout, without a round trip.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` before every checkout, which on the benchmark
machine was a sixth of a patient read's time in the web worker (py-spy): a whole round trip to
learn what the socket already says. A pooled connection is idle, and the server never speaks to
an idle client unasked (Bridge's web and job connections do not LISTEN). So if its socket is
readable, the server has sent its goodbye (a terminated backend's FATAL message, or end of file
after a restart), and the connection is thrown away before anyone uses it.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError


def server_has_hung_up(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection has anything waiting from the server, or is closed."""
    if dbapi_connection.closed:
        return True
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if server_has_hung_up(dbapi_connection):
        # The pool discards this connection and checks out (or opens) another.
        raise DisconnectionError("the server closed the connection while it was idle")


def replace_dead_connections(engine: Engine) -> None:
    """Check every PostgreSQL checkout of ``engine`` for a server that has hung up."""
    if engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", _on_checkout)
