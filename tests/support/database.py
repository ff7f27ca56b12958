"""Throwaway PostgreSQL databases for the test run: a fresh one per use, so parallel runs never
collide."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

from bridge.config import normalise_database_url

ADMIN_URL = os.environ.get("BRIDGE_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _dsn(url: str, dbname: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{dbname}"


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new, empty database named ``<prefix>_<random>``, dropped afterwards: parallel runs never
    collide."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield normalise_database_url(_dsn(ADMIN_URL, name))
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
