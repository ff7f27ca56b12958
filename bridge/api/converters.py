"""URL converters: ids in paths are bounded so that a huge number is a 404, not a DB error."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

from bridge.api.schemas import MAX_BIG_ID, MAX_ID


class IdConverter(IntegerConverter):
    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class BigIdConverter(IdConverter):
    """``<bigid:...>``: the id of a row of a bigint table (flags, notifications)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_BIG_ID)
        super().__init__(map, *args, **kwargs)
