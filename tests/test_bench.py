"""The benchmark still runs end to end (small, without the load tool), so it cannot rot."""

from __future__ import annotations

import psycopg2
import pytest

from bench import run
from tests.conftest import ADMIN_URL

SIZE = 250  # its own database name, bridge_bench_250, so a real benchmark run is untouched


@pytest.fixture
def bench_database():
    yield
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "bridge_bench_{SIZE}" WITH (FORCE)')
    conn.close()


def test_bench_writes_every_section(tmp_path, bench_database):
    out = tmp_path / "RESULTS.md"
    out.write_text(f"stale numbers\n{run.NOTES_MARKER}\nwhat the numbers say\n")

    assert run.main(["--sizes", str(SIZE), "--skip-load", "--output", str(out)]) == 0

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
