"""A cursor is opaque but not signed: a forged one is the caller's error (422 naming ``cursor``)
on every list, never a 500. The lists are read from the spec, so a new list is covered."""

from __future__ import annotations

import base64
import json
import re

import pytest

# Values a forged cursor can decode to: wrong types for every key kind (id, severity, timestamp),
# wrong counts, out-of-range numbers and things that are not positions at all.
FORGED_VALUES: list = [
    ["x"],
    [1.5],
    [True],
    [None],
    [2**70],
    [{"dt": "2026-01-01T00:00:00+00:00"}],
    [{"d": "2026-01-01"}],
    [{"dt": 5}],
    [[1]],
    [{}],
    ["a", "b"],
    [1, "b"],
    ["x", {"dt": "2026-01-01T00:00:00+00:00"}, 1],
    [1, {"dt": "2026-01-01T00:00:00"}, 1],  # naive where the column keeps a zone
    [1, {"dt": "0001-01-01T00:00:00+14:00"}, 1],  # cannot be moved to UTC
    [1, {"d": "2026-01-01"}, 1],
    [1, {"dt": "2026-01-01T00:00:00+00:00"}, "1"],
    ["\u0000", 1],
    [1, 2, 3, 4],
    {"a": 1},
    "x",
    5,
    [],
]
FORGED = [
    base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("=") for v in FORGED_VALUES
] + ["not-base64!", "////", "e30", base64.urlsafe_b64encode(b"\xff\xfe").decode()]


def _list_operations(app) -> list[str]:
    spec = app.extensions["bridge_api"].spec.to_dict()
    found = []
    for path, ops in spec["paths"].items():
        op = ops.get("get")
        if op and any(p.get("name") == "cursor" for p in op.get("parameters", [])):
            found.append(path)
    return found


@pytest.fixture
def world(make_actor, make_org, make_patient):
    """One caller of every role and the path values their lists take."""
    muni = make_org("municipality", municipality_code="9805", name="Cursor Kommune")
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    actors = {
        "admin": make_actor("admin"),
        "nurse": nurse,
        "municipality": make_actor("municipality", organisation=muni),
        "gp": make_actor("gp"),
        "hospital": make_actor("hospital"),
    }
    values = {"patient_id": patient.id, "code": "9805"}
    return actors, values


def _caller_of(path: str, actors, values):
    """The first role that lists ``path`` (200) without a cursor, and the concrete URL."""
    url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
    for actor in actors.values():
        if actor.get(url).status_code == 200:
            return actor, url
    raise AssertionError(f"no role lists {path}: give its path parameter a value in world()")


def test_every_list_refuses_a_forged_cursor_as_the_callers_error(app, world):
    actors, values = world
    paths = _list_operations(app)
    assert len(paths) >= 12, paths
    failures = []
    for path in paths:
        actor, url = _caller_of(path, actors, values)
        for cursor in FORGED:
            r = actor.get(url, query_string={"cursor": cursor})
            ok = (
                r.status_code in (400, 422)
                and r.mimetype == "application/problem+json"
                and "cursor" in (r.json.get("errors") or {})
            )
            if not ok:
                failures.append(
                    f"{path} {cursor}: {r.status_code} {r.get_data(as_text=True)[:120]}"
                )
    assert failures == [], "\n".join(failures)


def test_a_genuine_cursor_still_pages(world, make_patient):
    actors, _ = world
    nurse = actors["nurse"]
    for _ in range(3):
        make_patient(nurse=nurse)
    first = nurse.get("/api/v1/patients", query_string={"limit": 2})
    assert first.status_code == 200 and first.json["next_cursor"]
    second = nurse.get(
        "/api/v1/patients", query_string={"limit": 2, "cursor": first.json["next_cursor"]}
    )
    assert second.status_code == 200, second.json
    assert {p["id"] for p in first.json["items"]}.isdisjoint(p["id"] for p in second.json["items"])
