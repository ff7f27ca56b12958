"""While the database is unreachable the service answers 503 with Retry-After, never a 500,
and it recovers by itself (bridge.pool) when connections are cut."""

import time

import psycopg2
import pytest


def test_database_unreachable_answers_503(database_url, make_app):
    unreachable = database_url.rsplit("@", 1)[0] + "@127.0.0.1:1/nowhere"
    app = make_app({"SQLALCHEMY_DATABASE_URI": unreachable, "TESTING": True})
    client = app.test_client()
    r = client.get("/api/v1/patients", headers={"Authorization": "Bearer brg_x"})
    assert r.status_code == 503
    assert r.headers["Retry-After"]
    assert r.mimetype == "application/problem+json"
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert client.get("/health").status_code == 200


# The session's app migrates the database; without it, run alone, /ready said "migrations pending".
@pytest.mark.usefixtures("app")
def test_service_recovers_after_backends_are_terminated(database_url, make_app):
    app = make_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    client = app.test_client()
    assert client.get("/ready").status_code == 200
    dbname = database_url.rsplit("/", 1)[1]
    conn = psycopg2.connect(
        database_url.replace("postgresql+psycopg", "postgresql").rsplit("/", 1)[0] + "/postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name = ''",
            (dbname,),
        )
        # pg_terminate_backend only signals; a restart has happened once the backends are gone.
        for _ in range(100):
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name = ''",
                (dbname,),
            )
            if cur.fetchone()[0] == 0:
                break
            time.sleep(0.05)
    conn.close()
    # The pooled connection is dead; the checkout sees its closed socket and replaces it
    # without the caller noticing.
    assert client.get("/ready").status_code == 200
    r = client.get("/api/v1/patients", headers={"Authorization": "Bearer brg_unknown"})
    assert r.status_code == 401
