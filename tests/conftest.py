"""Fixtures: a real PostgreSQL database per test run, built by the migrations; each test in a
transaction that is rolled back at the end (savepoint mode)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from bridge import create_app
from bridge.api import dumping
from bridge.config import settings_of
from bridge.extensions import db
from tests.support.database import fresh_database

# Every response the suite reads is dumped twice, planned and by marshmallow, and must agree.
dumping.VERIFY = True


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The database of this test run."""
    with fresh_database("bridge_test") as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url: str):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test",
            # The delivery tests' receivers (tests/receivers.py) listen on loopback.
            "BRIDGE_ENDPOINT_ALLOWED_HOSTS": "127.0.0.1",
        }
    )
    with app.app_context():
        upgrade()
        from bridge.domain.reference import seed_reference

        seed_reference(db.session)
        db.session.commit()
        db.session.remove()
    yield app
    # Close the pool's connections now rather than leave them to the garbage collector.
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app():
    """A test's own app (its own engine and pool), its connections closed when the test ends."""
    made = []

    def make(config: dict) -> Flask:
        made.append(create_app(config))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def override_settings(app, monkeypatch):
    """Change some of the app's settings for one test (by their environment names)."""

    def override(**values: object) -> None:
        changed = settings_of(app).with_values(values)
        monkeypatch.setitem(app.extensions, "bridge.settings", changed)

    return override


@pytest.fixture
def session(app) -> Iterator[Session]:
    """The test's session, joined to an outer transaction that is rolled back afterwards.

    Requests made during the test use the same connection, so they see the test's data; their
    commits release savepoints and their rollbacks undo only their own work.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(session):
    """Count the SQL statements run inside a ``with count_queries() as counter:`` block."""

    connection = session.connection()

    @contextmanager
    def counting():
        counter = QueryCounter()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                counter.statements.append(statement)

        event.listen(connection.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(connection.engine, "before_cursor_execute", before)

    return counting


pytest_plugins = ["tests.factories"]


@pytest.fixture
def sqlite_demo(tmp_path):
    """A SQLite database set up as ``make demo`` does; returns (app, CLI runner, seed output)."""
    demo = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.sqlite3'}"})
    runner = demo.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    seeded = runner.invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    return demo, runner, seeded.output
