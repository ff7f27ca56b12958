"""Finalised to delivered: how long after a nurse finalises minutes the GP's message arrives.

The scheduler runs as a deployment runs it (``bridge scheduler``, the product's settings, so the
real dispatch interval and batch size) against the benchmark database. A GP practice's webhook
endpoint points at a receiver on loopback that notes when each message arrives. Then BURST
minutes are finalised one after another through the API, as fast as it answers, and each one's
finalising time is noted when its response (and so its commit) is back.

    python -m bench.latency receive PORT OUTFILE   # the receiver: one line per arrival
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BURST = 1000
PATIENTS = 50
WAIT_SECONDS = 180
TARGET_P95 = 10.0
TARGET_P99 = 60.0


def receive(port: int, outfile: str) -> None:
    """Answer every POST with 204 and append ``<arrival time> <distribution id>`` to outfile."""

    def note(line: str) -> None:
        with Path(outfile).open("a") as out:
            out.write(line)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            arrived = time.time()
            try:
                ref = json.loads(body)["data"]["ref"]
                note(f"{arrived} {ref['distribution_id']}\n")
            except (ValueError, KeyError, TypeError):
                pass
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(
    app: Any, receiver_url: str, nurse_token: str, spare: int
) -> tuple[list[int], int, dict[int, int | None]]:
    """A GP practice of its own with a webhook to the receiver, made the GP of some of the
    nurse's patients (never ``spare``, the patient the other measurements read); BURST held
    meetings with draft minutes for them. Returns the meeting ids, the practice's id and each
    moved patient's own GP practice (to put back afterwards)."""
    from sqlalchemy import select, update

    from bridge.domain.notifications.channels import generate_webhook_secret
    from bridge.domain.notifications.models import Channel, DeliveryEndpoint
    from bridge.domain.patients.models import Enrollment, Patient
    from bridge.domain.registry.models import Organisation, OrganisationKind
    from bridge.domain.registry.services import authenticate_token
    from bridge.extensions import db

    with app.app_context():
        s = db.session
        nurse = authenticate_token(s, nurse_token, datetime.now(UTC))
        assert nurse is not None
        practice = Organisation(kind=OrganisationKind.GP_PRACTICE, name="Bench latency practice")
        s.add(practice)
        s.flush()
        s.add(
            DeliveryEndpoint(
                organisation_id=practice.id,
                channel=Channel.WEBHOOK,
                url=receiver_url,
                secret=generate_webhook_secret(),
            )
        )
        own_gp = dict(
            s.execute(
                select(Patient.id, Patient.gp_practice_id)
                .join(Enrollment, Enrollment.patient_id == Patient.id)
                .where(
                    Enrollment.nurse_id == nurse.staff_id,
                    Enrollment.end_date.is_(None),
                    Patient.id != spare,
                )
                .limit(PATIENTS)
            ).all()
        )
        patients = list(own_gp)
        s.execute(
            update(Patient).where(Patient.id.in_(patients)).values(gp_practice_id=practice.id)
        )
        s.commit()
        practice_id = practice.id
    client = app.test_client()
    headers = {"Authorization": f"Bearer {nurse_token}"}
    start = datetime.now(UTC) - timedelta(hours=3)
    meetings = []
    for n in range(BURST):
        r = client.post(
            "/api/v1/meetings",
            headers=headers,
            json={
                "patient_id": patients[n % len(patients)],
                "scheduled_start": start.isoformat(),
                "scheduled_end": (start + timedelta(hours=1)).isoformat(),
                "place": "Psykiatrisk Center",
                "agenda": "Fælles plan",
                "participants": [],
            },
        )
        assert r.status_code == 201, r.get_json()
        meeting_id = r.get_json()["id"]
        r = client.post(f"/api/v1/meetings/{meeting_id}/hold", headers=headers, json={})
        assert r.status_code == 200, r.get_json()
        r = client.post(
            f"/api/v1/meetings/{meeting_id}/minutes",
            headers=headers,
            json={"summary": "Status og plan", "decisions": "Tæt opfølgning"},
        )
        assert r.status_code == 201, r.get_json()
        meetings.append(meeting_id)
    return meetings, practice_id, own_gp


def _restore(app: Any, own_gp: dict[int, int | None]) -> None:
    from sqlalchemy import update

    from bridge.domain.patients.models import Patient
    from bridge.extensions import db

    with app.app_context():
        for patient_id, practice_id in own_gp.items():
            db.session.execute(
                update(Patient).where(Patient.id == patient_id).values(gp_practice_id=practice_id)
            )
        db.session.commit()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def measure_latency(app: Any, url: str, tokens: dict, ids: dict) -> tuple[str, list[str]]:
    """Start a receiver and the scheduler, finalise a burst, and report the delays."""
    from sqlalchemy import select

    from bridge.domain.meetings.models import Distribution, MinutesVersion
    from bridge.extensions import db

    port = _free_port()
    arrivals_file = Path(f"/tmp/bridge-bench-arrivals-{port}.txt")
    receiver = subprocess.Popen(
        [sys.executable, "-m", "bench.latency", "receive", str(port), str(arrivals_file)]
    )
    scheduler = None
    own_gp: dict[int, int | None] = {}
    try:
        meetings, practice_id, own_gp = _prepare(
            app, f"http://127.0.0.1:{port}/hook", tokens["nurse"], ids["patient"]
        )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            # The receiver is on loopback, which a deployment must allow explicitly.
            "BRIDGE_ENDPOINT_ALLOWED_HOSTS": "127.0.0.1",
        }
        scheduler = subprocess.Popen([sys.executable, "-m", "bridge", "scheduler"], env=env)
        time.sleep(3)  # the scheduler's start-up, not part of any message's journey
        client = app.test_client()
        headers = {"Authorization": f"Bearer {tokens['nurse']}"}
        finalised: dict[int, float] = {}
        for meeting_id in meetings:
            r = client.post(f"/api/v1/meetings/{meeting_id}/minutes/1/finalise", headers=headers)
            assert r.status_code == 200, r.get_json()
            finalised[meeting_id] = time.time()
        burst_seconds = max(finalised.values()) - min(finalised.values())
        with app.app_context():
            gp_rows = dict(
                db.session.execute(
                    select(Distribution.id, MinutesVersion.meeting_id)
                    .join(MinutesVersion, MinutesVersion.id == Distribution.minutes_version_id)
                    .where(
                        MinutesVersion.meeting_id.in_(meetings),
                        Distribution.recipient_organisation_id == practice_id,
                    )
                ).all()
            )
        deadline = time.time() + WAIT_SECONDS
        arrived: dict[int, float] = {}
        while time.time() < deadline and len(arrived) < len(gp_rows):
            time.sleep(0.5)
            if arrivals_file.exists():
                for line in arrivals_file.read_text().splitlines():
                    at, distribution_id = line.split()
                    arrived.setdefault(int(distribution_id), float(at))
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(30)
        receiver.terminate()
        receiver.wait(10)
        arrivals_file.unlink(missing_ok=True)
        _restore(app, own_gp)
    delays = [arrived[d] - finalised[m] for d, m in gp_rows.items() if d in arrived]
    missing = len(gp_rows) - len(delays)
    # A message that never arrived counts as later than any that did.
    padded = delays + [float("inf")] * missing
    p95, p99 = _percentile(padded, 95), _percentile(padded, 99)
    within_10 = sum(1 for d in delays if d <= 10) / len(padded)
    within_60 = sum(1 for d in delays if d <= 60) / len(padded)
    verdict = "met" if p95 < TARGET_P95 and within_60 >= 0.99 else "MISSED"
    median = statistics.median(padded)
    return (
        "Finalised to delivered (GP webhook, real scheduler)",
        [
            "| minutes finalised | burst (s) | arrived | p50 s | p95 s | p99 s | max s "
            "| within 10 s | within 60 s | target |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            f"| {len(gp_rows)} | {burst_seconds:.1f} | {len(delays)} | {median:.2f} | {p95:.2f} "
            f"| {p99:.2f} | {max(padded):.2f} | {within_10:.1%} | {within_60:.1%} "
            f"| p95 < {TARGET_P95:.0f} s and 99 % < {TARGET_P99:.0f} s: {verdict} |",
        ],
    )


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(int(sys.argv[2]), sys.argv[3])
