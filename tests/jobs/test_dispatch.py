"""The dispatcher against real servers on loopback: an HTTP receiver and an SMTP server."""

from __future__ import annotations

import email
import json
import random
import socket
import threading
from collections import deque
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from bridge.adapters.dispatch_types import DispatchSettings
from bridge.adapters.dispatcher import dispatch_once
from bridge.adapters.fhir_acknowledgement import build_acknowledgement
from bridge.adapters.transport import MAX_ANSWER_BYTES, SmtpSettings, Transport
from bridge.domain.base import utcnow
from bridge.domain.notifications import enqueue_notification
from bridge.domain.notifications.channels import RetryPolicy, generate_webhook_secret
from bridge.domain.notifications.messages import OrganisationRef
from bridge.domain.notifications.models import (
    Channel,
    DeliveryEndpoint,
    Notification,
    NotificationStatus,
)
from bridge.domain.registry.models import Organisation, OrganisationKind
from bridge.extensions import db
from tests.support.receivers import LOOPBACK, HttpReceiver, free_port
from tests.support.webhooks import verify_standard_webhook

S = NotificationStatus
SENDER = OrganisationRef("Psykiatrisk Center Ballerup", "265161000016000", "5790000209354")


@pytest.fixture
def receiver():
    r = HttpReceiver().start()
    yield r
    r.stop()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.answer = "250 OK"  # what the server says to DATA

    async def handle_DATA(self, server, session, envelope):
        if self.answer.startswith("250"):
            self.messages.append(envelope.content)
        return self.answer


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def settings():
    return DispatchSettings(
        base_url="https://bridge.example",
        sender=SENDER,
        sender_phone="38683868",
        mail_from="bridge@bridge.example",
        policy=RetryPolicy(rng=random.Random(3)),
        lease=timedelta(minutes=5),
    )


@pytest.fixture
def transport():
    t = Transport(http_timeout=2, destinations=LOOPBACK)
    yield t
    t.close()


@pytest.fixture
def gp(session, make_org, make_patient):
    org = make_org("gp_practice", name="Lægerne Herlev Torv")
    patient = make_patient(gp=org, name="Bruno Elmer")
    return org, patient


def add_endpoint(session, org, channel, **fields):
    endpoint = DeliveryEndpoint(organisation_id=org.id, channel=Channel(channel), **fields)
    session.add(endpoint)
    session.commit()
    return endpoint


def enqueue(session, org, patient, key="minutes-12", kind="minutes_final"):
    rows = enqueue_notification(
        session,
        recipient_organisation_id=org.id,
        kind=kind,
        patient_id=patient.id,
        payload={
            "ref": {"type": "minutes_version", "id": 12, "patient_id": patient.id},
            "link": "/api/v1/meetings/5/minutes/12",
            "action_items": ["Bestil blodprøver"],
        },
        source_type="distribution",
        source_id=7,
        idempotency_key=key,
    )
    session.commit()
    return {r.channel: r for r in rows}


def run(session, at, settings, transport, batch_size=100):
    return dispatch_once(session, at, batch_size=batch_size, settings=settings, transport=transport)


def reload(session, n):
    session.expire_all()
    return session.get(Notification, n.id)


# --- webhook ----------------------------------------------------------------------------------


def test_webhook_is_signed_and_keeps_its_id_across_retries(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    secret = generate_webhook_secret()
    add_endpoint(session, org, "webhook", url=receiver.url(), secret=secret)
    row = enqueue(session, org, patient)[Channel.WEBHOOK]
    receiver.script.append((500, {}, b""))
    now = utcnow()

    first = run(session, now, settings, transport)
    second = run(session, now + timedelta(hours=2), settings, transport)

    assert (first.retried, second.delivered) == (1, 1)
    assert reload(session, row).status == S.DELIVERED
    a, b = receiver.received
    assert a.headers["webhook-id"] == b.headers["webhook-id"] == row.idempotency_key
    for got in (a, b):
        assert verify_standard_webhook(secret, got.headers, got.body)
        assert patient.name not in got.body.decode() and patient.cpr[:6] not in got.body.decode()
    data = json.loads(b.body)["data"]
    assert data["ref"]["id"] == 12
    assert data["link"] == "https://bridge.example/api/v1/meetings/5/minutes/12"


def test_webhook_signed_with_both_secrets_during_rotation(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    old, new = generate_webhook_secret(), generate_webhook_secret()
    add_endpoint(
        session,
        org,
        "webhook",
        url=receiver.url(),
        secret=new,
        previous_secret=old,
        previous_valid_until=utcnow() + timedelta(hours=1),
    )
    enqueue(session, org, patient)

    run(session, utcnow(), settings, transport)

    (got,) = receiver.received
    assert verify_standard_webhook(old, got.headers, got.body)
    assert verify_standard_webhook(new, got.headers, got.body)


def test_webhook_410_fails_the_message_and_disables_the_endpoint(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    endpoint = add_endpoint(session, org, "webhook", url=receiver.url(), secret="whsec_" + "A" * 44)
    row = enqueue(session, org, patient)[Channel.WEBHOOK]
    receiver.default = (410, {}, b"")

    run(session, utcnow(), settings, transport)

    assert reload(session, row).status == S.FAILED
    endpoint = session.get(DeliveryEndpoint, endpoint.id)
    assert endpoint.active is False and "410" in endpoint.disabled_reason
    assert Channel.WEBHOOK not in enqueue(session, org, patient, key="later")


def test_endpoint_disabled_after_the_event_fails_its_message_unsent(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    endpoint = add_endpoint(session, org, "webhook", url=receiver.url(), secret="whsec_" + "A" * 44)
    row = enqueue(session, org, patient)[Channel.WEBHOOK]
    endpoint.active, endpoint.disabled_reason = False, "disabled by an administrator"
    session.commit()

    summary = run(session, utcnow(), settings, transport)

    assert summary.failed == 1 and receiver.received == []
    row = reload(session, row)
    assert row.status == S.FAILED
    assert row.last_error == "endpoint disabled: disabled by an administrator"


def test_transport_reads_no_more_than_a_megabyte_of_an_answer(transport):
    # A receiver that announces 3 MB, sends 1.5 MB and then stalls: reading it all would wait
    # for the timeout; reading no more than the cap returns at once.
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (3 << 20))
            conn.sendall(b"x" * (3 << 19))
            stop.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        answer = transport.post(url, b"{}", {"content-type": "application/json"})
    finally:
        stop.set()
        thread.join(5)
        listener.close()

    assert answer.status == 200 and len(answer.body) == MAX_ANSWER_BYTES


@pytest.mark.parametrize("status", [429, 503])
def test_webhook_busy_receiver_is_retried_after_retry_after(
    session, gp, receiver, settings, transport, status
):
    org, patient = gp
    add_endpoint(session, org, "webhook", url=receiver.url(), secret=generate_webhook_secret())
    row = enqueue(session, org, patient)[Channel.WEBHOOK]
    receiver.script.append((status, {"Retry-After": "600"}, b""))
    now = utcnow()

    run(session, now, settings, transport)

    row = reload(session, row)
    assert row.status == S.PENDING and row.last_error == f"HTTP {status}"
    assert row.next_attempt_at == now + timedelta(seconds=600)
    assert run(session, now + timedelta(seconds=599), settings, transport).claimed == 0
    assert run(session, now + timedelta(seconds=600), settings, transport).delivered == 1


def test_receiver_down_then_up_everything_arrives_once(session, gp, settings, transport):
    org, patient = gp
    port = free_port()
    add_endpoint(
        session,
        org,
        "webhook",
        url=f"http://127.0.0.1:{port}/hook",
        secret=generate_webhook_secret(),
    )
    rows = [enqueue(session, org, patient, key=f"evt-{i}")[Channel.WEBHOOK] for i in range(20)]
    now = utcnow()

    down = run(session, now, settings, transport)
    down_again = run(session, now + timedelta(hours=1), settings, transport)
    receiver = HttpReceiver(port=port).start()
    try:
        at = now + timedelta(hours=3)
        while run(session, at, settings, transport).claimed:
            at += timedelta(hours=1)
    finally:
        receiver.stop()

    assert down.retried == 20 and down_again.retried == 20
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert sorted(ids) == sorted(r.idempotency_key for r in rows)
    assert all(reload(session, r).status == S.DELIVERED for r in rows)


def test_receiver_down_then_slow_then_back_everything_arrives_under_one_id_each(
    session, gp, settings
):
    org, patient = gp
    port = free_port()
    add_endpoint(
        session,
        org,
        "webhook",
        url=f"http://127.0.0.1:{port}/hook",
        secret=generate_webhook_secret(),
    )
    rows = [enqueue(session, org, patient, key=f"slow-{i}")[Channel.WEBHOOK] for i in range(6)]
    fast_fail = Transport(http_timeout=0.3, destinations=LOOPBACK)
    now = utcnow()
    try:
        down = run(session, now, settings, fast_fail)  # nobody listens
        receiver = HttpReceiver(port=port, delays=deque([1.0] * 6)).start()
        slow = run(session, now + timedelta(hours=1), settings, fast_fail)  # answers too late
        at = now + timedelta(hours=3)
        while run(session, at, settings, fast_fail).claimed:  # back to normal
            at += timedelta(hours=1)
    finally:
        fast_fail.close()
        receiver.stop()
    assert down.retried == 6 and slow.retried == 6
    assert all(reload(session, r).status == S.DELIVERED for r in rows)
    # A receiver that answered too late may have stored a message; the retry carries the same
    # webhook-id, so deduplicating on it gives each message exactly once.
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {r.idempotency_key for r in rows}


def test_messages_die_after_the_maximum_age(session, gp, receiver, transport):
    org, patient = gp
    add_endpoint(session, org, "webhook", url=receiver.url(), secret=generate_webhook_secret())
    row = enqueue(session, org, patient)[Channel.WEBHOOK]
    receiver.default = (500, {}, b"")
    short = DispatchSettings(policy=RetryPolicy(max_age=timedelta(hours=1)))
    now = utcnow()

    early = run(session, now, short, transport)
    late = run(session, now + timedelta(hours=2), short, transport)

    assert (early.retried, late.dead) == (1, 1)
    row = reload(session, row)
    assert row.status == S.DEAD and row.last_error == "HTTP 500" and row.attempts == 2


class Crash(BaseException):
    """The dispatcher process dies (not an error it could handle)."""


class CrashingTransport(Transport):
    def __init__(self, after: int) -> None:
        super().__init__(http_timeout=2, destinations=LOOPBACK)
        self.left = after

    def post(self, url, body, headers):
        if self.left == 0:
            raise Crash
        self.left -= 1
        return super().post(url, body, headers)


def test_dispatcher_killed_mid_batch_loses_nothing(session, gp, receiver, settings, transport):
    org, patient = gp
    add_endpoint(session, org, "webhook", url=receiver.url(), secret=generate_webhook_secret())
    rows = [enqueue(session, org, patient, key=f"evt-{i}")[Channel.WEBHOOK] for i in range(5)]
    now = utcnow()
    crashing = CrashingTransport(after=2)

    with pytest.raises(Crash):
        run(session, now, settings, crashing)
    crashing.close()
    session.rollback()
    within_lease = run(session, now + timedelta(minutes=4), settings, transport)
    after_lease = run(session, now + timedelta(minutes=6), settings, transport)

    assert within_lease.claimed == 0
    assert after_lease.delivered == 3
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert sorted(ids) == sorted(r.idempotency_key for r in rows)
    assert all(reload(session, r).status == S.DELIVERED for r in rows)


# --- FHIR -------------------------------------------------------------------------------------


def test_fhir_message_is_a_valid_r4_bundle_resent_twice_without_an_ack(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    add_endpoint(session, org, "fhir", url=receiver.url("/fhir"))
    row = enqueue(session, org, patient)[Channel.FHIR]
    now = utcnow()

    sent = run(session, now, settings, transport)
    too_early = run(session, now + timedelta(minutes=29), settings, transport)
    resend1 = run(session, now + timedelta(minutes=31), settings, transport)
    resend2 = run(session, now + timedelta(minutes=62), settings, transport)
    no_more = run(session, now + timedelta(hours=5), settings, transport)

    assert (sent.sent, too_early.claimed, resend1.sent, resend2.sent, no_more.claimed) == (
        1,
        0,
        1,
        1,
        0,
    )
    assert all(r.headers["content-type"] == "application/fhir+json" for r in receiver.received)
    bundles = [json.loads(r.body) for r in receiver.received]
    for bundle in bundles:
        assert Bundle.model_validate(bundle).type == "message"
        header = bundle["entry"][0]["resource"]
        assert header["resourceType"] == "MessageHeader"
        assert header["id"] == row.message_header_id
    assert len({b["id"] for b in bundles}) == 3  # a new envelope each time
    (comm,) = [
        e["resource"]
        for e in bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Communication"
    ]
    assert comm["category"][0]["coding"][0]["code"] == "carecoordination"
    assert "Bestil blodprøver" in comm["payload"][0]["contentString"]
    row = reload(session, row)
    assert row.status == S.SENT and row.resends == 2 and row.bundle_id == bundles[-1]["id"]


def test_fhir_acknowledgement_in_the_response_body_is_recorded(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    add_endpoint(session, org, "fhir", url=receiver.url("/fhir"))
    row = enqueue(session, org, patient, kind="discharge")[Channel.FHIR]
    receiver_ref = OrganisationRef(org.name, org.sor_code, org.gln)
    ack = build_acknowledgement(row.message_header_id, "ok", receiver_ref, SENDER)
    receiver.default = (200, {"Content-Type": "application/fhir+json"}, json.dumps(ack).encode())

    summary = run(session, utcnow(), settings, transport)

    assert summary.acknowledged == 1
    row = reload(session, row)
    assert row.status == S.ACKNOWLEDGED and row.next_attempt_at is None
    bundle = json.loads(receiver.received[0].body)
    (comm,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Communication"
    ]
    assert comm["category"][0]["coding"][0]["code"] == "discharge"


def test_fhir_acknowledgement_of_another_message_in_the_body_is_ignored(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    add_endpoint(session, org, "fhir", url=receiver.url("/fhir"))
    row = enqueue(session, org, patient)[Channel.FHIR]
    receiver_ref = OrganisationRef(org.name, org.sor_code, org.gln)
    other = build_acknowledgement(
        "0b7e4f1c-0000-4000-8000-000000000001", "ok", receiver_ref, SENDER
    )
    receiver.default = (200, {}, json.dumps(other).encode())

    summary = run(session, utcnow(), settings, transport)

    assert (summary.sent, summary.acknowledged) == (1, 0)
    row = reload(session, row)
    assert row.status == S.SENT and row.next_attempt_at is not None


def test_fhir_transient_ack_is_resent_in_a_new_envelope_with_the_same_header(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    add_endpoint(session, org, "fhir", url=receiver.url("/fhir"))
    row = enqueue(session, org, patient)[Channel.FHIR]
    receiver_ref = OrganisationRef(org.name, org.sor_code, org.gln)
    nack = build_acknowledgement(row.message_header_id, "transient-error", receiver_ref, SENDER)
    receiver.script.append((200, {}, json.dumps(nack).encode()))
    now = utcnow()

    run(session, now, settings, transport)
    assert reload(session, row).status == S.PENDING
    run(session, now + timedelta(hours=2), settings, transport)

    first, second = (json.loads(r.body) for r in receiver.received)
    assert first["id"] != second["id"]
    assert first["entry"][0]["resource"]["id"] == second["entry"][0]["resource"]["id"]
    assert reload(session, row).status == S.SENT


# --- email ------------------------------------------------------------------------------------


def test_email_notice_arrives_without_health_data(session, gp, smtp_server, settings):
    org, patient = gp
    controller, mailbox = smtp_server
    add_endpoint(session, org, "email", email="gp@example.org")
    rows = enqueue(session, org, patient)
    transport = Transport(smtp=SmtpSettings(host="127.0.0.1", port=controller.port))
    try:
        summary = run(session, utcnow(), settings, transport)
    finally:
        transport.close()

    assert summary.delivered == 1
    (raw,) = mailbox.messages
    text = raw.decode("utf-8", errors="replace")
    msg = email.message_from_bytes(raw)
    body = msg.get_payload(decode=True).decode()
    # The web recipient area's page of the message (a person follows an email's link).
    assert f"https://bridge.example/inbox/{rows[Channel.INBOX].id}" in body
    for secret in (patient.name, patient.cpr, patient.cpr[:6], "Bestil blodprøver"):
        assert secret not in text and secret not in body
    assert msg["To"] == "gp@example.org"
    assert reload(session, rows[Channel.EMAIL]).status == S.DELIVERED


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [("554 Transaction failed", S.FAILED, "SMTP 554"), ("451 Try later", S.PENDING, "SMTP 451")],
)
def test_email_refused_for_good_fails_and_refused_for_now_retries(
    session, gp, smtp_server, settings, answer, status, error
):
    org, patient = gp
    controller, mailbox = smtp_server
    mailbox.answer = answer
    add_endpoint(session, org, "email", email="gp@example.org")
    row = enqueue(session, org, patient)[Channel.EMAIL]
    transport = Transport(smtp=SmtpSettings(host="127.0.0.1", port=controller.port))
    try:
        run(session, utcnow(), settings, transport)
    finally:
        transport.close()

    row = reload(session, row)
    assert (row.status, row.last_error) == (status, error)


def test_email_to_an_unreachable_server_is_retried(session, gp, settings):
    org, patient = gp
    add_endpoint(session, org, "email", email="gp@example.org")
    row = enqueue(session, org, patient)[Channel.EMAIL]
    transport = Transport(smtp=SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2))
    try:
        summary = run(session, utcnow(), settings, transport)
    finally:
        transport.close()

    assert summary.retried == 1
    assert reload(session, row).last_error.startswith("transport: ")


# --- two dispatchers on one database (real commits, so no savepoint session) ------------------


def test_two_dispatchers_deliver_each_of_2000_notifications_exactly_once(app, receiver, settings):
    total = 2000
    with app.app_context():
        engine = db.engine
    with Session(bind=engine) as setup:
        org = Organisation(kind=OrganisationKind.GP_PRACTICE, name="Concurrency test practice")
        setup.add(org)
        setup.flush()
        endpoint = DeliveryEndpoint(
            organisation_id=org.id,
            channel=Channel.WEBHOOK,
            url=receiver.url(),
            secret=generate_webhook_secret(),
        )
        setup.add(endpoint)
        setup.flush()
        now = utcnow()
        setup.execute(
            insert(Notification),
            [
                {
                    "recipient_organisation_id": org.id,
                    "channel": Channel.WEBHOOK,
                    "endpoint_id": endpoint.id,
                    "kind": "minutes_final",
                    "payload": {"ref": {"id": i}, "link": f"/x/{i}"},
                    "event_key": f"conc-{i}",
                    "idempotency_key": f"conc-{i}:webhook",
                    "status": S.PENDING,
                    "attempts": 0,
                    "resends": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for i in range(total)
            ],
        )
        setup.commit()
        org_id, endpoint_id = org.id, endpoint.id
    claimed = [0, 0]

    def worker(index: int) -> None:
        transport = Transport(http_timeout=5, destinations=LOOPBACK)
        with Session(bind=engine) as own:
            while (
                s := dispatch_once(own, now, batch_size=50, settings=settings, transport=transport)
            ).claimed:
                claimed[index] += s.claimed
        transport.close()

    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        with Session(bind=engine) as check:
            statuses = dict(
                check.execute(
                    select(Notification.status, func.count())
                    .where(Notification.recipient_organisation_id == org_id)
                    .group_by(Notification.status)
                ).all()
            )
    finally:
        with Session(bind=engine) as cleanup:
            cleanup.execute(
                delete(Notification).where(Notification.recipient_organisation_id == org_id)
            )
            cleanup.execute(delete(DeliveryEndpoint).where(DeliveryEndpoint.id == endpoint_id))
            cleanup.execute(delete(Organisation).where(Organisation.id == org_id))
            cleanup.commit()

    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == total
    assert len(set(ids)) == total
    assert statuses == {S.DELIVERED: total}
    assert sum(claimed) == total
    assert all(claimed)  # both dispatchers really took part


def test_a_receiver_that_keeps_answering_transient_error_gets_three_sends_then_failed(
    session, gp, receiver, settings, transport
):
    org, patient = gp
    add_endpoint(session, org, "fhir", url=receiver.url("/fhir"))
    row = enqueue(session, org, patient)[Channel.FHIR]
    receiver_ref = OrganisationRef(org.name, org.sor_code, org.gln)
    nack = build_acknowledgement(row.message_header_id, "transient-error", receiver_ref, SENDER)
    receiver.default = (200, {}, json.dumps(nack).encode())
    now = utcnow()

    # A day of dispatcher passes, every two hours: well past every backoff.
    for hour in range(0, 24, 2):
        run(session, now + timedelta(hours=hour), settings, transport)

    assert len(receiver.received) == 3  # the original and two resends, as MedCom allows
    row = reload(session, row)
    assert row.status == S.FAILED and row.next_attempt_at is None
    assert row.last_error == "negative acknowledgement: transient-error after 3 sends"


# --- where delivery may go --------------------------------------------------------------------


def test_a_name_that_now_resolves_to_loopback_gets_nothing(session, gp, receiver, settings):
    # Registered while the name pointed at a public address; at delivery it resolves to
    # loopback (DNS rebinding). The address connected to is judged, so nothing is sent.
    org, patient = gp
    add_endpoint(
        session,
        org,
        "webhook",
        url=f"http://localhost:{receiver.port}/hook",
        secret=generate_webhook_secret(),
    )
    row = enqueue(session, org, patient)[Channel.WEBHOOK]
    strict = Transport(http_timeout=2)
    try:
        summary = run(session, utcnow(), settings, strict)
    finally:
        strict.close()
    assert summary.retried == 1 and receiver.received == []
    assert "destination refused" in reload(session, row).last_error


def test_an_allowed_on_premises_receiver_is_delivered_to(session, gp, receiver, settings):
    org, patient = gp
    add_endpoint(
        session,
        org,
        "webhook",
        url=f"http://localhost:{receiver.port}/hook",
        secret=generate_webhook_secret(),
    )
    row = enqueue(session, org, patient)[Channel.WEBHOOK]
    allowed = Transport(http_timeout=2, destinations=LOOPBACK)
    try:
        run(session, utcnow(), settings, allowed)
    finally:
        allowed.close()
    assert reload(session, row).status == S.DELIVERED and len(receiver.received) == 1
