"""Failed API-token attempts are throttled per client address; valid callers never are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bridge.domain.auth.throttle import ThrottleSettings, TokenFailure, count_failure

ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
BAD = {"Authorization": "Bearer brg_not-a-token"}


@pytest.fixture
def limit(override_settings):
    override_settings(BRIDGE_TOKEN_FAILURE_LIMIT=5, BRIDGE_TOKEN_FAILURE_WINDOW_SECONDS=60)
    return 5


def test_unknown_tokens_get_429_with_retry_after_past_the_limit(client, limit, session):
    answers = [
        client.get("/api/v1/patients", headers=BAD, environ_base=ATTACKER) for _ in range(limit + 3)
    ]
    assert [r.status_code for r in answers[:limit]] == [401] * limit
    for r in answers[limit:]:
        assert r.status_code == 429
        assert r.mimetype == "application/problem+json"
        assert r.json["status"] == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    # The count is in the database, where every gunicorn worker finds it.
    row = session.get(TokenFailure, "203.0.113.7")
    assert row is not None and row.failures == limit + 3
    # Another address is not affected.
    other = client.get(
        "/api/v1/patients", headers=BAD, environ_base={"REMOTE_ADDR": "198.51.100.1"}
    )
    assert other.status_code == 401


def test_a_valid_token_from_a_throttled_address_keeps_working(
    client, limit, make_actor, count_queries
):
    nurse = make_actor("nurse")
    for _ in range(limit + 1):
        client.get("/api/v1/patients", headers=BAD, environ_base=ATTACKER)
    assert client.get("/api/v1/patients", headers=BAD, environ_base=ATTACKER).status_code == 429
    with count_queries() as counter:
        r = nurse.get("/api/v1/patients", environ_base=ATTACKER)
    assert r.status_code == 200
    # The throttle is consulted only on failure: a valid request runs no statement of it.
    assert not [s for s in counter.statements if "token_failure" in s]


def test_the_window_ends_and_a_new_one_starts(session):
    settings = ThrottleSettings(limit=2, window=timedelta(seconds=60))
    t0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    verdicts = [
        count_failure(session, "192.0.2.1", t0 + timedelta(seconds=i), settings) for i in (0, 1, 2)
    ]
    assert [v.throttled for v in verdicts] == [False, False, True]
    assert verdicts[2].retry_after == 58
    after = count_failure(session, "192.0.2.1", t0 + timedelta(seconds=61), settings)
    assert not after.throttled
    row = session.scalar(select(TokenFailure).where(TokenFailure.client == "192.0.2.1"))
    assert row.failures == 1 and row.window_start == t0 + timedelta(seconds=61)
