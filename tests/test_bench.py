"""The benchmark still runs end to end (small, without the load tool), so it cannot rot."""

from __future__ import annotations

import uuid

import psycopg2
import pytest

from bench import run
from tests.support.database import ADMIN_URL

SIZE = 250


@pytest.fixture
def database_prefix():
    """A database of this run's own: a real benchmark run, and test runs beside this one
    (which drop their database WITH (FORCE)), are untouched."""
    prefix = f"bridge_bench_test_{uuid.uuid4().hex[:10]}"
    yield prefix
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{prefix}_{SIZE}" WITH (FORCE)')
    conn.close()


def test_bench_writes_every_section(tmp_path, database_prefix):
    out = tmp_path / "RESULTS.md"
    out.write_text(f"stale numbers\n{run.NOTES_MARKER}\nwhat the numbers say\n")

    args = ["--sizes", str(SIZE), "--skip-load", "--burst", "10", "--output", str(out)]
    assert run.main([*args, "--database-prefix", database_prefix]) == 0

    report = out.read_text()
    assert "stale numbers" not in report
    assert report.endswith(f"{run.NOTES_MARKER}\nwhat the numbers say\n")
    scan_row = next(line for line in report.splitlines() if line.startswith(f"| {SIZE} |"))
    assert int(scan_row.split("|")[3]) > 0  # the scan ran statements and they were counted
    for ep in run.ENDPOINTS:
        assert f"| {ep.name} |" in report
    plans = report.split("## Query plans (EXPLAIN)")[1]
    assert "| dispatcher claim | 1 |" in plans
    dispatch_row = report.split("## Dispatcher")[1].strip().splitlines()[4]
    messages, _, delivered, received, duplicates = (
        int(cell) for cell in dispatch_row.split("|")[1:6]
    )
    assert delivered == received == messages > 0
    assert duplicates == 0
    latency_row = report.split("## Finalised to delivered")[1].strip().splitlines()[4]
    finalised, _, arrived = (cell.strip() for cell in latency_row.split("|")[1:4])
    assert finalised == arrived == "10"
