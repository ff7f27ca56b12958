"""Adapters: how Bridge talks to the outside world (HTTP, SMTP, MedCom FHIR messages).

The domain (``bridge.domain``) never imports this package; it hands plain data in and gets plain
data back. The entry points (jobs, CLI, API routes) wire adapters and domain together.
"""
