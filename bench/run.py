"""Measure how Bridge's cost grows with the data: ``make bench`` (or python -m bench.run).

For each size it builds a PostgreSQL database with the synthetic national data set, then
measures the gap scan (time and SQL statements), each endpoint's SQL statement count, and the
API under concurrent load (gunicorn + wrk on loopback). Results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import psycopg2
from sqlalchemy import event, select, text

from bench.bound import libpq_dsn

HERE = Path(__file__).resolve().parent
ADMIN_URL = os.environ.get(
    "BRIDGE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Endpoint:
    name: str
    role: str  # which token calls it
    path: Callable[[dict], str]  # from the fixture ids to a URL
    kind: str  # "detail" | "list" | "baseline"


def _ep(name: str, role: str, template: str, kind: str) -> Endpoint:
    return Endpoint(f"{name} ({role})", role, lambda ids: template.format(**ids), kind)


# Areas add their endpoints here. Every list and detail endpoint of the issue, as each role that
# may call it; ids come from build() (a patient with a held meeting, an admission and a GP).
ENDPOINTS: list[Endpoint] = [
    Endpoint("health (baseline)", "nurse", lambda ids: "/health", "baseline"),
    *(
        e
        for role in ("nurse", "municipality", "gp")
        for e in (
            _ep("patient read", role, "/api/v1/patients/{patient}", "detail"),
            _ep("timeline", role, "/api/v1/patients/{patient}/timeline", "detail"),
            _ep("patient list", role, "/api/v1/patients?limit=50", "list"),
            _ep("follow-up list", role, "/api/v1/follow-ups?limit=50", "list"),
        )
    ),
    _ep("flags worklist", "nurse", "/api/v1/flags?limit=50", "list"),
    _ep(
        "summary sync page",
        "municipality",
        "/api/v1/municipalities/{municipality_code}/meeting-summaries?limit=50",
        "list",
    ),
    _ep("meeting list", "nurse", "/api/v1/meetings?limit=50", "list"),
    _ep("meeting read", "nurse", "/api/v1/meetings/{meeting}", "detail"),
    _ep("minutes", "nurse", "/api/v1/meetings/{meeting}/minutes", "detail"),
    _ep("distributions", "nurse", "/api/v1/meetings/{meeting}/distributions", "detail"),
    _ep("admissions of patient", "nurse", "/api/v1/patients/{patient}/admissions", "list"),
    _ep("admission read", "nurse", "/api/v1/admissions/{admission}", "detail"),
    _ep("follow-up read", "nurse", "/api/v1/follow-ups/{task}", "detail"),
    _ep("inbox", "gp", "/api/v1/inbox?limit=50", "list"),
    _ep("consents", "nurse", "/api/v1/patients/{patient}/consents", "list"),
    # Issue 17: the monthly overview, a year of a region and of a health council.
    _ep("overview region", "admin", "/api/v1/overview/{region}?from=2026-01&to=2026-12", "list"),
    _ep("overview council", "admin", "/api/v1/overview/{council}?from=2026-01&to=2026-12", "list"),
]

TARGET_MS = {"detail": 50.0, "list": 100.0, "baseline": None}


def database_url(name: str) -> str:
    from bridge.config import normalise_database_url

    return normalise_database_url(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")


def recreate_database(name: str) -> str:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return database_url(name)


@dataclass(frozen=True)
class Sent:
    """One statement as it went to the database."""

    statement: str
    parameters: object
    executemany: bool


@contextmanager
def recording(engine):
    """Every statement sent on ``engine`` meanwhile, in order."""
    sent: list[Sent] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append(Sent(statement, parameters, executemany))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", before)


def keep_world(url: str, tokens, ids, counts, seeded: float) -> None:
    """Store what a later ``--reuse`` run needs (the callers' tokens, the fixture ids) in the
    benchmark database itself."""
    conn = psycopg2.connect(libpq_dsn(url))
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_world (world jsonb NOT NULL)")
        cur.execute("DELETE FROM bench_world")
        world = {"tokens": tokens, "ids": ids, "counts": counts, "seeded": seeded}
        cur.execute("INSERT INTO bench_world VALUES (%s)", (json.dumps(world),))
    conn.close()


def kept_world(name: str):
    """(url, tokens, ids, counts, seeded) of an earlier run's database ``name``, or None."""
    url = database_url(name)
    try:
        conn = psycopg2.connect(libpq_dsn(url))
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('bench_world') IS NOT NULL")
            if not cur.fetchone()[0]:
                return None
            cur.execute("SELECT world FROM bench_world")
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        return None
    world = row[0]
    return url, world["tokens"], world["ids"], world["counts"], world["seeded"]


def migrated_app(url: str):
    """The app on an existing benchmark database, brought up to the current schema."""
    from flask_migrate import upgrade

    from bridge import create_app
    from bridge.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        # The steady state build() leaves (vacuumed, analysed), after whatever the migrations
        # rewrote; the flag table rewritten once so that its pages get the fillfactor the
        # gap_scan_1 migration sets (what its note asks of an operator).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (FULL) flag"))
            conn.execute(text("VACUUM (ANALYZE)"))
    return app


def build(url: str, patients: int):
    """Migrate, generate the data, scan once, and make a token per role; returns app and ids."""
    from flask_migrate import upgrade

    from bridge import create_app
    from bridge.domain.base import plan_for_each_run
    from bridge.domain.care.models import FollowUpTask
    from bridge.domain.gaps.engine import run_gap_scan
    from bridge.domain.meetings.models import MeetingStatus, NetworkMeeting
    from bridge.domain.overview_rollup import refresh_overview
    from bridge.domain.patients.models import Enrollment, Patient
    from bridge.domain.registry.effective import health_council_of, region_of
    from bridge.domain.registry.models import Organisation, Role, Staff, StaffRole
    from bridge.domain.registry.services import issue_token
    from bridge.extensions import db
    from bridge.sampledata.synthetic import seed_synthetic

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        counts = seed_synthetic(db.session, patients=patients, seed=1)
        db.session.commit()
        seeded = time.perf_counter() - started
        run_gap_scan(db.session, datetime.now(UTC))
        db.session.commit()
        # The first scan has just written a flag for about every patient; until autovacuum
        # counts them the planner takes the table for empty, and the rollup's nested loops
        # over a million flags ran for half an hour at 1,000,000 patients.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE flag"))
        # The overview endpoints read what the scheduler's rollup counted (issue 17), planned as
        # the scheduler plans it.
        plan_for_each_run(db.session)
        refresh_overview(db.session, datetime.now(UTC))
        db.session.commit()
        s = db.session
        # A patient with everything: a held meeting, a psychiatric stay with follow-ups, a GP.
        meeting = s.scalar(
            select(NetworkMeeting)
            .join(Patient, Patient.id == NetworkMeeting.patient_id)
            .where(
                NetworkMeeting.status == MeetingStatus.HELD,
                Patient.gp_practice_id.is_not(None),
                NetworkMeeting.patient_id.in_(select(FollowUpTask.patient_id)),
            )
            .order_by(NetworkMeeting.id)
            .limit(1)
        )
        patient = s.get(Patient, meeting.patient_id)
        enrollment = s.scalar(select(Enrollment).where(Enrollment.patient_id == patient.id))
        task = s.scalar(select(FollowUpTask).where(FollowUpTask.patient_id == patient.id).limit(1))
        tokens = {
            "nurse": issue_token(
                s, s.get(Staff, enrollment.nurse_id), label="bench", expires_at=None
            ).secret
        }
        for role, org_id in (
            ("municipality", patient.municipality_id),
            ("gp", patient.gp_practice_id),
            ("admin", None),
        ):
            org_id = org_id or s.scalar(select(Organisation.id).limit(1))
            staff = Staff(organisation_id=org_id, name=f"bench {role}")
            staff.role_rows = [StaffRole(role=Role(role))]
            s.add(staff)
            s.flush()
            tokens[role] = issue_token(s, staff, label="bench", expires_at=None).secret
        s.commit()
        # Measure a database in its steady state: vacuumed (visibility map and hint bits set)
        # and analysed. Otherwise autovacuum works through the million new rows during the
        # load runs and takes the CPU from whichever endpoint is being measured.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
        ids = {
            "patient": patient.id,
            "municipality_code": s.get(Organisation, patient.municipality_id).municipality_code,
            "meeting": meeting.id,
            "admission": task.admission_id,
            "task": task.id,
            "municipality_id": patient.municipality_id,
            "region": region_of(s, patient.municipality_id, date(2026, 6, 1)).id,
            "council": health_council_of(s, patient.municipality_id, date(2027, 1, 1)).id,
        }
    return app, tokens, ids, counts, seeded


def measure_scan(app) -> tuple[float, int]:
    from bridge.domain.base import plan_for_each_run
    from bridge.domain.gaps.engine import run_gap_scan
    from bridge.extensions import db

    times, count = [], 0
    with app.app_context():
        for _ in range(3):
            plan_for_each_run(db.session)  # as the scheduler runs it (jobs.runner)
            with recording(db.engine) as statements:
                started = time.perf_counter()
                run_gap_scan(db.session, datetime.now(UTC))
                db.session.commit()
                times.append(time.perf_counter() - started)
            count = len(statements)
    return statistics.median(times), count


def measure_statements(app, tokens, ids) -> dict[str, int]:
    from bridge.extensions import db

    client = app.test_client()
    out = {}
    with app.app_context():
        for ep in ENDPOINTS:
            headers = {"Authorization": f"Bearer {tokens[ep.role]}"}
            with recording(db.engine) as statements:
                r = client.get(ep.path(ids), headers=headers)
            assert r.status_code == 200, (ep.name, r.status_code, r.get_data(as_text=True)[:300])
            out[ep.name] = len(statements)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(wsgi_app: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """gunicorn with the production settings (bridge/gunicorn_conf.py) on a free loopback port."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:bridge.gunicorn_conf",
            "--log-level",
            "warning",
            wsgi_app,
        ],
        env={**env, "BIND": f"127.0.0.1:{port}"},
    )
    return server, port


def _wait_for(port: int, path: str) -> None:
    # Until a worker answers, not merely until the master listens.
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return
        except OSError:
            time.sleep(0.2)


def _wrk(wrk: str, url: str, token: str, seconds: int, connections: int) -> dict | None:
    cmd = [
        wrk,
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        "-s",
        str(HERE / "wrk_report.lua"),
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    m = re.search(r"BENCH rps=(\S+) p50=(\S+) p95=(\S+) p99=(\S+) requests=(\d+) errors=(\d+)", out)
    if not m:
        return None
    keys = ["rps", "p50", "p95", "p99", "requests", "errors"]
    return dict(zip(keys, map(float, m.groups()), strict=True))


def _combined(rounds: list[dict]) -> dict:
    """Several runs of one endpoint as one row: the median of each figure, errors summed."""
    row = {k: statistics.median(r[k] for r in rounds) for k in ("rps", "p50", "p95", "p99")}
    row["requests"] = sum(r["requests"] for r in rounds)
    row["errors"] = sum(r["errors"] for r in rounds)
    return row


def measure_load(
    app, url: str, tokens, ids, seconds: int, connections: int, rounds: int = 2
) -> dict[str, dict]:
    """Each endpoint under wrk through Bridge and through its bound (bench/bound.py), both
    served by gunicorn with the same settings, interleaved: Bridge, bound, Bridge, bound, … so
    that whatever the machine does meanwhile falls on both alike."""
    from bench import bound

    wrk = shutil.which("wrk")
    if wrk is None:
        return {}
    requests = [(ep.path(ids), {"Authorization": f"Bearer {tokens[ep.role]}"}) for ep in ENDPOINTS]
    recording_file = Path(tempfile.mkdtemp(prefix="bridge-bound-")) / "replays.pickle"
    bound.save(bound.record(app, requests), recording_file)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        bound.RECORDING_VARIABLE: str(recording_file),
    }
    servers = {
        "bridge": _serve("bridge.wsgi:app", env),
        "bound": _serve("bench.bound:app", env),
    }
    try:
        for _, port in servers.values():
            _wait_for(port, "/health")
        runs: dict[str, dict[str, list[dict]]] = {"bridge": {}, "bound": {}}
        for round_ in range(rounds):
            for ep in ENDPOINTS:
                for name, (_, port) in servers.items():
                    target = f"http://127.0.0.1:{port}{ep.path(ids)}"
                    if round_ == 0:  # each worker's first requests build its caches
                        _wrk(wrk, target, tokens[ep.role], 1, connections)
                    r = _wrk(wrk, target, tokens[ep.role], seconds, connections)
                    if r:
                        runs[name].setdefault(ep.name, []).append(r)
        results = {}
        for ep in ENDPOINTS:
            mine, bounds = runs["bridge"].get(ep.name), runs["bound"].get(ep.name)
            if not mine:
                continue
            row = _combined(mine)
            if bounds and len(bounds) == len(mine):
                ratios = [m["rps"] / b["rps"] for m, b in zip(mine, bounds, strict=True)]
                row["bound_rps"] = statistics.median(b["rps"] for b in bounds)
                row["ratio"] = statistics.median(ratios)
                row["ratio_min"], row["ratio_max"] = min(ratios), max(ratios)
            results[ep.name] = row
        return results
    finally:
        for server, _ in servers.values():
            server.terminate()
        for server, _ in servers.values():
            server.wait(10)
        shutil.rmtree(recording_file.parent, ignore_errors=True)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{platform.node()}: {os.cpu_count()} cores, {cpu}, Python "
        f"{platform.python_version()}, {pg}"
    )


# Below this line RESULTS.md holds the engineers' reading of the numbers; a new run keeps it.
NOTES_MARKER = "<!-- notes below are written by hand and kept when the benchmark runs again -->"


# The gap scan's limit per size (issue 19: the national ceiling).
SCAN_TARGET_SECONDS = {100_000: 10.0, 1_000_000: 60.0}
# At the national size every endpoint's p95 stays within this factor of its p95 at 10,000.
CEILING_SIZE, CEILING_BASE, CEILING_FACTOR = 1_000_000, 10_000, 1.2


def _national_ceiling(runs: dict[int, dict], sizes: list[int]) -> list[str]:
    """Each endpoint's p95 at 1,000,000 patients against its p95 at 10,000, from one run."""
    if CEILING_SIZE not in sizes or CEILING_BASE not in sizes:
        return []
    big, base = runs[CEILING_SIZE]["load"], runs[CEILING_BASE]["load"]
    if not big or not base:
        return []
    lines = [
        "",
        f"## p95 at {CEILING_SIZE:,} patients against {CEILING_BASE:,} (same run)",
        "",
        f"| endpoint | p95 ms at {CEILING_BASE:,} | p95 ms at {CEILING_SIZE:,} | factor | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for ep in ENDPOINTS:
        a, b = base.get(ep.name), big.get(ep.name)
        if not a or not b or ep.kind == "baseline":
            continue
        factor = b["p95"] / a["p95"]
        verdict = "met" if factor <= CEILING_FACTOR else "MISSED"
        lines.append(
            f"| {ep.name} | {a['p95']:.1f} | {b['p95']:.1f} | {factor:.2f} "
            f"| ≤ {CEILING_FACTOR}: {verdict} |"
        )
    return lines


# Bridge's share of its bound (bench/bound.py) that each endpoint must reach.
BOUND_TARGET = 0.6
BOUND_TARGETS = {"patient read (nurse)": 0.7}


def _bound_cells(ep: Endpoint, r: dict) -> str:
    if "ratio" not in r:
        return "- | -"
    target = BOUND_TARGETS.get(ep.name, BOUND_TARGET)
    verdict = (
        ""
        if ep.kind == "baseline"
        else (" ≥ " + f"{target}: " + ("met" if r["ratio"] >= target else "MISSED"))
    )
    return (
        f"{r['bound_rps']:.0f} | {r['ratio']:.2f} ({r['ratio_min']:.2f} to {r['ratio_max']:.2f})"
        f"{verdict}"
    )


def write_results(path: Path, runs: dict[int, dict], settings: str) -> None:
    sizes = sorted(runs)
    previous = path.read_text() if path.exists() else ""
    notes = previous[previous.index(NOTES_MARKER) :] if NOTES_MARKER in previous else ""
    lines = [
        "# Bridge benchmark results",
        "",
        f"Machine: {machine()}  ",
        f"Run: {settings}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
    ]
    lines += [
        "## Gap scan",
        "",
        "| patients | wall time (s) | SQL statements | target |",
        "| ---: | ---: | ---: | --- |",
    ]
    scan_counts = {runs[n]["scan_statements"] for n in sizes}
    for n in sizes:
        r = runs[n]
        limit = SCAN_TARGET_SECONDS.get(n)
        verdict = (
            ""
            if limit is None
            else f"< {limit:.0f} s: {'met' if r['scan_seconds'] < limit else 'MISSED'}; "
        )
        lines.append(
            f"| {n:,} | {r['scan_seconds']:.2f} | {r['scan_statements']} | {verdict}"
            f"equal counts: {'yes' if len(scan_counts) == 1 else 'NO'} |"
        )
    lines += [
        "",
        "## SQL statements per request (must not grow with the data)",
        "",
        "| endpoint | " + " | ".join(f"{n:,}" for n in sizes) + " | equal |",
        "| --- | " + " | ".join("---:" for _ in sizes) + " | --- |",
    ]
    for ep in ENDPOINTS:
        counts = [runs[n]["statements"].get(ep.name) for n in sizes]
        lines.append(
            f"| {ep.name} | " + " | ".join(str(c) for c in counts) + " | "
            f"{'yes' if len(set(counts)) == 1 else 'NO'} |"
        )
    for n in sizes:
        load = runs[n]["load"]
        if not load:
            continue
        base = load.get("health (baseline)", {}).get("rps")
        lines += [
            "",
            f"## API under load, {n:,} patients",
            "",
            "| endpoint | req/s | bound req/s | bridge / bound (spread) | vs /health | p50 ms "
            "| p95 ms | p99 ms | errors | target p95 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for ep in ENDPOINTS:
            r = load.get(ep.name)
            if not r:
                continue
            target = TARGET_MS[ep.kind]
            verdict = (
                ""
                if target is None
                # A run with errors (or none answered at all) misses, whatever its p95 says.
                else (
                    f"< {target:.0f} ms: "
                    + (
                        "met"
                        if r["p95"] < target and not r["errors"] and r["requests"]
                        else "MISSED"
                    )
                )
            )
            ratio = f"{r['rps'] / base:.2f}" if base else "-"
            lines.append(
                f"| {ep.name} | {r['rps']:.0f} | {_bound_cells(ep, r)} | {ratio} | "
                f"{r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {int(r['errors'])} "
                f"| {verdict} |"
            )
    lines += _national_ceiling(runs, sizes)
    for n in sizes:
        extra = runs[n].get("extra", {})
        for title, rows in extra.items():
            lines += ["", f"## {title}, {n:,} patients", "", *rows]
    missed = [line for line in lines if "MISSED" in line or "| NO |" in line]
    lines += [
        "",
        "## Targets",
        "",
        f"{len(missed)} rows miss a target." if missed else "Every target above is met.",
    ]
    path.write_text("\n".join(lines) + "\n" + ("\n" + notes if notes else ""))


# Areas add measurements: fn(app, url, tokens, ids) -> (title, markdown lines)
EXTRA_MEASUREMENTS: list[Callable] = []


def _dispatch(app, url, tokens, ids):
    from bench.dispatch import measure_dispatch

    return measure_dispatch(app, url, tokens, ids)


def _plans(app, url, tokens, ids):
    from bench.plans import measure_plans

    return measure_plans(app, url, tokens, ids)


def _latency(app, url, tokens, ids, *, burst: int):
    from bench import latency

    latency.BURST = burst
    return latency.measure_latency(app, url, tokens, ids)


def _memory(app, url, tokens, ids):
    from bench.memory import measure_memory

    return measure_memory(app, url, tokens, ids)


EXTRA_MEASUREMENTS.extend([_plans, _dispatch])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved Bridge/bound runs of each endpoint"
    )
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    parser.add_argument(
        "--skip-load", action="store_true", help="no gunicorn/wrk runs (the test suite's smoke run)"
    )
    parser.add_argument(
        "--burst", type=int, default=1000, help="minutes finalised at once (finalised to delivered)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure an existing <prefix>_<size> database built by an earlier run (a 1,000,000 "
        "patient data set takes long to build) after migrating it; builds it when absent",
    )
    parser.add_argument(
        "--database-prefix", default="bridge_bench", help="databases are named <prefix>_<size>"
    )
    args = parser.parse_args(argv)
    from bridge.extensions import db

    runs: dict[int, dict] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        name = f"{args.database_prefix}_{n}"
        kept = kept_world(name) if args.reuse else None
        if kept is not None:
            url, tokens, ids, counts, seeded = kept
            app = migrated_app(url)
            print(f"[{n}] reusing {name}, built in {seeded:.1f} s", flush=True)
        else:
            url = recreate_database(name)
            print(f"[{n}] building data set ...", flush=True)
            app, tokens, ids, counts, seeded = build(url, n)
            keep_world(url, tokens, ids, counts, seeded)
            print(f"[{n}] seeded in {seeded:.1f} s: {counts}", flush=True)
        scan_seconds, scan_statements = measure_scan(app)
        print(f"[{n}] scan {scan_seconds:.2f} s, {scan_statements} statements", flush=True)
        statements = measure_statements(app, tokens, ids)
        load = (
            {}
            if args.skip_load
            else measure_load(app, url, tokens, ids, args.seconds, args.connections, args.rounds)
        )
        extra = {}
        measurements = [*EXTRA_MEASUREMENTS, partial(_latency, burst=args.burst)]
        if not args.skip_load:
            measurements.append(_memory)
        for measure in measurements:
            title, rows = measure(app, url, tokens, ids)
            extra[title] = rows
        with app.app_context():
            db.engine.dispose()  # this size's pool, closed before the next size opens its own
        runs[n] = {
            "scan_seconds": scan_seconds,
            "scan_statements": scan_statements,
            "statements": statements,
            "load": load,
            "seeded": seeded,
            "extra": extra,
        }
    write_results(
        Path(args.output),
        runs,
        f"sizes {args.sizes}, wrk {args.seconds} s x {args.connections} connections",
    )
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
