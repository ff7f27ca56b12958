"""A real Chromium against the app served on a loopback port, with a database of its own.

The savepoint session of the other tests cannot be used here: the server answers from another
thread on its own connections. So these tests get a dedicated database, built by the
migrations, filled with committed demo data and dropped at the end.

Debian's /usr/bin/chromium is driven by Playwright's Python client; Playwright's own browser
download (`playwright install`) is never used. Without Chromium the tests are skipped.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import make_server

from bridge import create_app
from bridge.domain.auth.services import set_password
from bridge.domain.base import utcnow
from bridge.domain.patients.models import Enrollment, Patient
from bridge.domain.registry.models import Staff
from bridge.extensions import db
from bridge.sampledata.demo import DEMO_PASSWORD, seed_demo
from tests.support.browser import LOCKOUT_EMAIL, World
from tests.support.database import fresh_database

CHROMIUM = os.environ.get("BRIDGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _skip_reason() -> str | None:
    if not os.path.exists(CHROMIUM):
        return (
            f"no Chromium at {CHROMIUM}: install Debian's package ('apt-get install chromium', "
            "scripts/ensure-test-services does it when run as root)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def browser_database_url() -> Iterator[str]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    with fresh_database("bridge_browser") as url:
        yield url


def _first_patient_of(email: str) -> Patient:
    return db.session.scalar(
        select(Patient)
        .join(Enrollment, Enrollment.patient_id == Patient.id)
        .join(Staff, Staff.id == Enrollment.nurse_id)
        .where(Staff.email == email, Enrollment.end_date.is_(None))
        .order_by(Patient.id)
        .limit(1)
    )


@pytest.fixture(scope="session")
def world(browser_database_url: str) -> Iterator[World]:
    """The app on 127.0.0.1 (a free port), serving the seeded demo data set."""
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": browser_database_url, "SECRET_KEY": "b"}
    )
    with app.app_context():
        upgrade()
        seed_demo(db.session, patients=30)
        locked = Staff(
            organisation_id=db.session.scalar(
                select(Staff.organisation_id).where(Staff.email == "nurse.anna@bridge.demo")
            ),
            name="Lærke Låst",
            email=LOCKOUT_EMAIL,
        )
        db.session.add(locked)
        db.session.flush()
        set_password(db.session, locked, DEMO_PASSWORD, utcnow())
        anna = _first_patient_of("nurse.anna@bridge.demo")
        bo = _first_patient_of("nurse.bo@bridge.demo")
        facts = (anna.id, anna.name, anna.cpr, bo.id)
        db.session.commit()
        db.session.remove()
    # One log line per request would bury a failure's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bridge-live", daemon=True)
    thread.start()
    try:
        yield World(
            base_url=f"http://127.0.0.1:{server.server_port}",
            app=app,
            anna_email="nurse.anna@bridge.demo",
            password=DEMO_PASSWORD,
            anna_patient_id=facts[0],
            anna_patient_name=facts[1],
            anna_patient_cpr=facts[2],
            bo_patient_id=facts[3],
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser(world):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, world):
    """A fresh browser profile (no cookies) at 1280 px wide."""
    context = browser.new_context(
        base_url=world.base_url, viewport={"width": 1280, "height": 900}, locale="da-DK"
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot as an artifact (artifacts/ is not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
