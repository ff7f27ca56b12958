"""The response bodies orjson writes read as Flask's own provider wrote them."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from bridge.json_provider import OrjsonProvider


@dataclass
class _Point:
    x: int
    label: str


VALUES = [
    {"b": 1, "a": [1, 2.5, None, True], "c": {"z": "æøå", "y": "\u2028"}},
    {"when": datetime(2026, 12, 6, 8, 0, tzinfo=UTC), "day": date(2026, 12, 6)},
    {"id": uuid.UUID(int=7), "amount": Decimal("12.50"), "html": Markup("<b>x</b>")},
    {1: "one", 2: "two"},
    [_Point(1, "a"), _Point(2, "b")],
    "plain",
]


@pytest.fixture
def app() -> Flask:
    return Flask(__name__)  # a provider holds its app weakly: the fixture keeps it alive


@pytest.fixture
def providers(app: Flask) -> tuple[OrjsonProvider, DefaultJSONProvider]:
    return OrjsonProvider(app), DefaultJSONProvider(app)


def _pairs(text: str) -> object:
    return json.loads(text, object_pairs_hook=list)


@pytest.mark.parametrize("value", VALUES)
def test_same_json_as_flask_writes(providers, value) -> None:
    ours, flasks = providers
    # The same values, keys in the same (sorted) order.
    assert _pairs(ours.dumps(value)) == _pairs(flasks.dumps(value))


def test_response_is_compact_json_with_a_newline(providers) -> None:
    ours, _ = providers
    response = ours.response({"b": 2, "a": "ø"})
    assert response.mimetype == "application/json"
    assert response.get_data() == '{"a":"ø","b":2}\n'.encode()


def test_non_ascii_is_written_as_utf8_not_escaped(providers) -> None:
    ours, _ = providers
    assert ours.dumps({"name": "Søren"}) == '{"name":"Søren"}'
