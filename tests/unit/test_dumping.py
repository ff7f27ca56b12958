"""The planned dump gives marshmallow's result for every kind of field the API uses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum

from marshmallow import Schema, fields, post_dump

from bridge.api.dumping import planned_dump
from bridge.api.schemas import CopenhagenDateTime, Day, Id, StrictSchema


class Colour(Enum):
    RED = "red"


@dataclass
class Owner:
    name: str


@dataclass
class Thing:
    id: int
    name: str | None
    flag: bool
    colour: Colour
    at: datetime
    on: date
    owner: Owner
    tags: list[str] = field(default_factory=list)
    children: list[Owner] = field(default_factory=list)
    count: object = 3
    renamed_from: str = "r"


class OwnerSchema(Schema):
    name = fields.String()


class ThingSchema(StrictSchema):
    id = Id()
    name = fields.String(allow_none=True)
    label = fields.String(attribute="owner.name")
    flag = fields.Boolean()
    colour = fields.Enum(Colour, by_value=True)
    at = CopenhagenDateTime()
    on = Day()
    owner = fields.Nested(OwnerSchema)
    tags = fields.List(fields.String())
    children = fields.List(fields.Nested(OwnerSchema))
    count = fields.Integer()
    shout = fields.Method("_shout")
    absent = fields.String()
    defaulted = fields.String(dump_default="d")
    renamed = fields.String(attribute="renamed_from", data_key="title", dump_only=True)
    secret = fields.String(load_only=True)

    def _shout(self, obj: Thing) -> str:
        return (obj.name or "").upper()


def _things() -> list[object]:
    at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks change
    thing = Thing(1, "æble", True, Colour.RED, at, date(2026, 1, 2), Owner("Ib"), ["a"])
    thing.children = [Owner("x"), Owner("y")]
    odd = Thing(2, None, False, Colour.RED, at, date(2026, 1, 2), Owner("Åse"), count="7")
    as_dict = {"id": 3, "name": "d", "owner": {"name": "o"}, "items": 1, "tags": None}
    return [thing, odd, as_dict]


def _json(value: object) -> str:
    return json.dumps(value, default=str)


def test_planned_dump_equals_marshmallow_for_one_and_many() -> None:
    schema = ThingSchema()
    dump = planned_dump(schema)
    for thing in _things():
        try:
            expected = Schema.dump(schema, thing)
        except Exception as exc:  # a dict lacks what a Method field reads: both must fail
            try:
                dump(thing)
            except type(exc):
                continue
            raise AssertionError("marshmallow failed where the plan did not") from exc
        assert _json(dump(thing)) == _json(expected)
    objects = _things()[:2]
    assert _json(dump(objects, many=True)) == _json(Schema.dump(schema, objects, many=True))


def test_a_schema_with_dump_hooks_is_left_to_marshmallow() -> None:
    class Hooked(Schema):
        name = fields.String()

        @post_dump
        def _upper(self, data: dict, **kwargs: object) -> dict:
            return {k: v.upper() for k, v in data.items()}

    schema = Hooked()
    assert planned_dump(schema)({"name": "a"}) == {"name": "A"}
