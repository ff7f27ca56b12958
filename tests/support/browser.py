"""What the browser tests share: the world they run against and signing in as a person would."""

from __future__ import annotations

from dataclasses import dataclass

LOCKOUT_EMAIL = "laast.sygeplejerske@bridge.test"


@dataclass(frozen=True)
class World:
    """What the browser tests know about the data they run against."""

    base_url: str
    app: object
    anna_email: str
    password: str
    anna_patient_id: int
    anna_patient_name: str
    anna_patient_cpr: str
    bo_patient_id: int


def login(page, world: World, email: str | None = None, password: str | None = None) -> None:
    """Sign in through the form, using the labels as a person would."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email or world.anna_email)
    page.get_by_label("Adgangskode").fill(password or world.password)
    page.get_by_role("button", name="Log ind").click()
