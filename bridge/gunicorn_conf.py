"""gunicorn settings shared by the container, docker-compose and the benchmark.

``gunicorn -c python:bridge.gunicorn_conf bridge.wsgi:app``; override with the settings
(``WEB_CONCURRENCY``, ``BIND``) rather than with flags, so every way of running the web tier
behaves the same.
"""

import gc

from bridge.config import from_environment

_settings = from_environment()
bind = _settings.BIND
# Synchronous workers, two per core: a request spends much of its time waiting on PostgreSQL,
# during which another process can use the core. Measured on the 2-core benchmark machine,
# four sync workers beat two workers of four threads at every endpoint (p95 of a patient read
# 35 -> 24 ms): threads in one process contend for the GIL; processes do not. Run behind a
# buffering reverse proxy, as gunicorn's sync workers expect.
workers = _settings.gunicorn_workers()
worker_class = "sync"
timeout = 30
graceful_timeout = 20
# Recycle workers now and then so that slow growth of a process cannot accumulate.
max_requests = 20000
max_requests_jitter = 2000
accesslog = None
# Request limits, set deliberately rather than left to gunicorn's defaults. The app refuses a
# URL over 4 KB itself, with a problem+json 414 (bridge.api.http.MAX_URL_BYTES); the request-line
# limit sits above that as the backstop, and beyond it gunicorn answers its own plain 414 before
# the app sees the request. 8190 is the largest request line gunicorn accepts.
limit_request_line = 8190
# No header Bridge reads is long: a bearer token is under 100 bytes, cookies a few hundred.
limit_request_field_size = 8190
limit_request_fields = 50
# gunicorn 27's control socket (a Unix socket in the user's home for `gunicornc`): Bridge is run
# by its container's or service manager's signals, and two masters of one user (the web tier and
# the benchmark's bound, say) would fight over the one default path.
control_socket_disable = True


def post_worker_init(worker: object) -> None:
    """Move what the worker built at start (the app, its modules, compiled statements: some
    220,000 objects) out of the collector's reach. Python's full collections walk every live
    object; per request they cost a worker about 35 µs of CPU, all of it spent re-proving that
    the application itself is still alive."""
    gc.freeze()
