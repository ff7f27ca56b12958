"""Helpers for driving the web pages through Flask's test client (savepoint mode)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bridge.domain.auth.services import set_password
from bridge.domain.base import utcnow
from tests.support.web import PASSWORD, csrf_from


@dataclass
class WebUser:
    actor: object
    email: str
    client: object

    @property
    def id(self) -> int:
        return self.actor.id

    def login(self, password: str = PASSWORD):
        page = self.client.get("/login")
        return self.client.post(
            "/login",
            data={"csrf_token": csrf_from(page.get_data(as_text=True)), "email": self.email,
                  "password": password},
        )  # fmt: skip

    def token(self, url: str = "/today") -> str:
        return csrf_from(self.client.get(url).get_data(as_text=True))

    def post(self, url: str, data: dict | None = None, token_from: str = "/today"):
        return self.client.post(url, data={"csrf_token": self.token(token_from), **(data or {})})


@pytest.fixture
def make_web_user(app, session, make_actor):
    """A staff member with a password and a browser of their own (a separate test client)."""
    counter = iter(range(1, 10_000))

    def make(role: str = "nurse", **kw) -> WebUser:
        email = f"{role}.{next(counter)}@web.test"
        actor = make_actor(role, email=email, **kw)
        set_password(session, actor.staff, PASSWORD, utcnow())
        session.commit()
        return WebUser(actor=actor, email=email, client=app.test_client())

    return make
