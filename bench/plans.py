"""Which big tables the hot paths read without an index: EXPLAIN of every statement they run.

Each endpoint of bench/run.py is called once, the gap scan and a dispatcher claim run once, and
every statement they sent is explained on the benchmark database. A sequential scan of a table
with more than BIG_TABLE_ROWS rows is reported by name. An endpoint's statements are also run
again under EXPLAIN (ANALYZE, BUFFERS), in a transaction rolled back afterwards, and the pages
they touched are counted: a request whose count is the same at 10,000 and 1,000,000 patients
reads what its answer needs, not a share of the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg

from bench.run import ENDPOINTS, Sent, recording

BIG_TABLE_ROWS = 10_000


def _relations_scanned_sequentially(plan: dict) -> Iterator[str]:
    if plan.get("Node Type") == "Seq Scan":
        yield plan["Relation Name"]
    for child in plan.get("Plans", []):
        yield from _relations_scanned_sequentially(child)


def big_tables(connection) -> set[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > %s "
            "AND relnamespace = 'public'::regnamespace",
            (BIG_TABLE_ROWS,),
        )
        return {name for (name,) in cur.fetchall()}


def _pages(plan: dict) -> int:
    # The top node's counts include its children's.
    return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))


def explain(
    connection, statements: list[Sent], big: set[str], *, run: bool
) -> tuple[set[str], int | None]:
    """The big tables that the plans of ``statements`` read from end to end, and (``run``) the
    pages the statements touched when run."""
    found: set[str] = set()
    pages = 0
    options = "ANALYZE, BUFFERS, FORMAT JSON" if run else "FORMAT JSON"
    # A client-side cursor, to inline the parameters the way the statement was sent with them.
    with psycopg.ClientCursor(connection.driver_connection) as cur:
        for sent in statements:
            sql = cur.mogrify(sent.statement, sent.parameters)
            if not sql.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE")):
                continue
            cur.execute(f"EXPLAIN ({options}) " + sql)
            plan = cur.fetchone()[0]
            plan = plan if isinstance(plan, list) else json.loads(plan)
            found |= set(_relations_scanned_sequentially(plan[0]["Plan"])) & big
            pages += _pages(plan[0]["Plan"])
    connection.rollback()
    return found, pages if run else None


def _planned(sent: list[Sent]) -> list[Sent]:
    # Batched statements (the audit inserts of a list) are writes with nothing to plan.
    return [s for s in sent if not s.executemany]


def measure_plans(app, url, tokens, ids) -> tuple[str, list[str]]:
    """A table: each hot path, its statements, and the big tables it scans sequentially."""
    from bridge.adapters.dispatcher import dispatch_once
    from bridge.domain.gaps.engine import run_gap_scan
    from bridge.extensions import db

    client = app.test_client()
    paths: list[tuple[str, list[Sent]]] = []
    endpoint_names = {ep.name for ep in ENDPOINTS}
    with app.app_context():
        for ep in ENDPOINTS:
            headers = {"Authorization": f"Bearer {tokens[ep.role]}"}
            with recording(db.engine) as sent:
                r = client.get(ep.path(ids), headers=headers)
            assert r.status_code == 200, (ep.name, r.status_code)  # a refusal plans nothing
            paths.append((ep.name, _planned(sent)))
        with recording(db.engine) as sent:
            run_gap_scan(db.session, datetime.now(UTC))
        db.session.rollback()
        paths.append(("gap scan (all rules)", _planned(sent)))
        # Nothing is due in 2000: only the claim runs, which is the dispatcher's hot query.
        with recording(db.engine) as sent:
            dispatch_once(db.session, datetime(2000, 1, 1, tzinfo=UTC), batch_size=100)
        db.session.rollback()
        paths.append(("dispatcher claim", _planned(sent)))
        connection = db.engine.raw_connection()
        try:
            big = big_tables(connection)
            rows = [
                f"Tables with more than {BIG_TABLE_ROWS:,} rows: {', '.join(sorted(big))}.",
                "",
                "| path | statements | pages touched | big tables read sequentially |",
                "| --- | ---: | ---: | --- |",
            ]
            for name, sent in paths:
                # The scan and the claim are explained only: the scan runs for a while.
                is_endpoint = name in endpoint_names
                scans, pages = explain(connection, sent, big, run=is_endpoint)
                touched = "" if pages is None else f"{pages:,}"
                rows.append(
                    f"| {name} | {len(sent)} | {touched} | {', '.join(sorted(scans)) or 'none'} |"
                )
        finally:
            connection.close()
    return "Query plans (EXPLAIN)", rows
