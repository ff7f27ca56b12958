"""Pure parts of the notification channels: webhook signatures, retries, texts."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

from bridge.domain.notifications.channels import (
    RetryPolicy,
    generate_webhook_secret,
    parse_retry_after,
    webhook_body,
    webhook_headers,
)
from bridge.domain.notifications.models import Channel, DeliveryEndpoint
from bridge.domain.notifications.texts import render, render_notice
from tests.support.webhooks import verify_standard_webhook

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_webhook_secret_is_whsec_and_at_least_24_random_bytes():
    a, b = generate_webhook_secret(), generate_webhook_secret()

    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a.removeprefix("whsec_"))) >= 24


def test_webhook_signature_verifies_with_the_standard_webhooks_check():
    secret = generate_webhook_secret()
    body = webhook_body(notification_id=1, kind="minutes_final", ref={"id": 2}, link="x", now=NOW)

    headers = webhook_headers("evt-1:webhook", [secret], body, NOW)

    assert headers["webhook-id"] == "evt-1:webhook"
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert verify_standard_webhook(secret, headers, body)
    assert not verify_standard_webhook(generate_webhook_secret(), headers, body)
    assert not verify_standard_webhook(secret, headers, body + b" ")


def test_during_rotation_both_secrets_verify():
    old, new = generate_webhook_secret(), generate_webhook_secret()
    body = b'{"a":1}'

    headers = webhook_headers("id", [new, old], body, NOW)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhook(old, headers, body)
    assert verify_standard_webhook(new, headers, body)


def test_the_previous_secret_signs_only_until_the_overlap_ends():
    endpoint = DeliveryEndpoint(
        channel=Channel.WEBHOOK,
        secret="whsec_new",
        previous_secret="whsec_old",
        previous_valid_until=NOW + timedelta(hours=1),
    )

    assert endpoint.secrets_at(NOW) == ["whsec_new", "whsec_old"]
    assert endpoint.secrets_at(NOW + timedelta(hours=1)) == ["whsec_new"]


def test_webhook_payload_is_thin():
    body = json.loads(
        webhook_body(
            notification_id=7,
            kind="minutes_final",
            ref={"type": "minutes_version", "id": 12, "patient_id": 3},
            link="https://bridge.example/api/v1/x",
            now=NOW,
        )
    )

    assert set(body) == {"type", "timestamp", "data"}
    assert set(body["data"]) == {"notification_id", "kind", "ref", "link"}


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    policy = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(minutes=5), rng=random.Random(7))

    delays = [policy.delay(n) for n in range(1, 12)]

    assert timedelta(seconds=5) <= delays[0] <= timedelta(seconds=10)
    assert timedelta(seconds=40) <= delays[3] <= timedelta(seconds=80)
    assert all(d <= timedelta(minutes=5) for d in delays)
    assert len({d for d in delays[-4:]}) > 1  # jittered, not a fixed schedule


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after("Mon, 02 Mar 2026 09:05:00 GMT", NOW) == timedelta(minutes=5)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_texts_are_danish_by_default_and_english_on_request():
    da = render(
        "minutes_final",
        "da",
        patient="Bruno Elmer (250947-xxxx)",
        title=None,
        action_items=["Bestil blodprøver"],
        link="/x",
    )
    en = render("minutes_final", "en", patient=None, title=None, action_items=[], link="/x")

    assert da.subject == "Referat fra netværksmøde"
    assert "Bruno Elmer (250947-xxxx)" in da.body and "- Bestil blodprøver" in da.body
    assert en.subject == "Minutes of a network meeting" and "a patient" in en.body


def test_email_notice_carries_a_link_and_nothing_about_the_patient():
    notice = render_notice("discharge", "da", link="https://bridge.example/api/v1/inbox/4")

    assert "https://bridge.example/api/v1/inbox/4" in notice.body
    assert "udskrivelse" in notice.body


def test_webhook_payload_names_the_inbox_item_the_receiver_can_fetch():
    body = json.loads(
        webhook_body(
            notification_id=7,
            kind="minutes_final",
            ref={"type": "minutes_version", "id": 12},
            link="https://bridge.example/api/v1/meetings/1/minutes/1",
            now=NOW,
            inbox_url="https://bridge.example/api/v1/inbox/7",
        )
    )

    assert body["data"]["inbox_item_id"] == body["data"]["notification_id"] == 7
    assert body["data"]["inbox_url"].endswith("/inbox/7")
