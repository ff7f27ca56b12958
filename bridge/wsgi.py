"""WSGI entry point for gunicorn: ``gunicorn -c python:bridge.gunicorn_conf bridge.wsgi:app``."""

import gc

from bridge import create_app

app = create_app()
# What start-up built (modules, mappers, schemas) lives as long as the worker. Moved out of the
# collector's generations, it is no longer traversed by every full collection: measured on the
# benchmark database, a full collection went from 120 ms to about 10 ms, a pause that otherwise
# lands on some unlucky request.
gc.freeze()
