"""What a gunicorn worker does once it has started the app (bridge/gunicorn_conf.py)."""

from __future__ import annotations

import gc

from bridge import gunicorn_conf


def test_a_worker_freezes_what_it_built_at_start() -> None:
    # Python's full collections would otherwise walk the whole started app on every pass.
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        gunicorn_conf.post_worker_init(object())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
