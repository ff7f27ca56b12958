"""Driving the web pages through Flask's test client: the test password and a page's CSRF token."""

from __future__ import annotations

import re

PASSWORD = "correct horse battery"


_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _TOKEN_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)
