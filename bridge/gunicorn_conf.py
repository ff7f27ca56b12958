"""gunicorn settings shared by the container, docker-compose and the benchmark.

``gunicorn -c python:bridge.gunicorn_conf bridge.wsgi:app``; override with the environment
(``WEB_CONCURRENCY``, ``BIND``) rather than with flags, so every way of running the web tier
behaves the same.
"""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
# Synchronous workers, two per core: a request spends much of its time waiting on PostgreSQL,
# during which another process can use the core. Measured on the 2-core benchmark machine,
# four sync workers beat two workers of four threads at every endpoint (p95 of a patient read
# 35 -> 24 ms): threads in one process contend for the GIL; processes do not. Run behind a
# buffering reverse proxy, as gunicorn's sync workers expect.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
# Recycle workers now and then so that slow growth of a process cannot accumulate.
max_requests = 20000
max_requests_jitter = 2000
accesslog = None
