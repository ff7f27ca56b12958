"""Scheduled jobs. Each is a plain function ``(session, now) -> summary``, run by ``runner``."""
