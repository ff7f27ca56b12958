"""Signing in to the web pages: passwords, lockout, sessions and CSRF."""

import re
from datetime import timedelta

from sqlalchemy import select

from bridge import create_app
from bridge.domain.auth.models import StaffLogin
from bridge.domain.base import utcnow
from tests.support.web import PASSWORD, csrf_from

ALERT_RE = re.compile(r'role="alert"[^>]*>([^<]+)<')


def test_pages_send_visitors_who_are_not_signed_in_to_the_login_page(client):
    for url in ("/today", "/caseload", "/flags", "/patients/1"):
        response = client.get(url)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login?next=")


def test_a_nurse_logs_in_and_lands_on_today_in_danish(make_web_user):
    nurse = make_web_user()
    response = nurse.login()
    assert response.status_code == 303 and response.headers["Location"] == "/today"
    page = nurse.client.get("/today").get_data(as_text=True)
    assert "<h1>I dag</h1>" in page
    assert "Ingen åbne flag" in page  # the placeholder section's empty state


def test_english_can_be_chosen_and_is_kept_across_login(make_web_user):
    nurse = make_web_user()
    page = nurse.client.get("/login").get_data(as_text=True)
    assert "Log ind i Bridge" in page
    nurse.client.post(
        "/language", data={"csrf_token": csrf_from(page), "lang": "en", "next": "/login"}
    )
    assert "Log in to Bridge" in nurse.client.get("/login").get_data(as_text=True)
    nurse.login()
    assert "<h1>Today</h1>" in nurse.client.get("/today").get_data(as_text=True)


def test_wrong_password_and_unknown_email_get_the_same_answer(make_web_user):
    nurse = make_web_user()
    wrong = nurse.login("not the password")
    page = nurse.client.get("/login").get_data(as_text=True)
    unknown = nurse.client.post(
        "/login",
        data={"csrf_token": csrf_from(page), "email": "nobody@web.test", "password": PASSWORD},
    )
    alerts = [ALERT_RE.search(r.get_data(as_text=True)).group(1) for r in (wrong, unknown)]
    assert wrong.status_code == unknown.status_code == 200
    assert alerts[0] == alerts[1] and "kontoen er spærret" in alerts[0]
    assert nurse.client.get("/today").status_code == 303


def test_five_failures_lock_the_account_for_fifteen_minutes(make_web_user, session):
    nurse = make_web_user()
    for _ in range(5):
        assert nurse.login("guess").status_code == 200
    row = session.get(StaffLogin, nurse.id)
    session.refresh(row)
    assert row.locked_until is not None
    assert timedelta(minutes=14) < row.locked_until - utcnow() <= timedelta(minutes=15)
    # even the right password is refused while locked, with the same message
    refused = nurse.login()
    assert refused.status_code == 200 and "kontoen er spærret" in refused.get_data(as_text=True)
    assert nurse.client.get("/today").status_code == 303
    # once the lock has run out, the right password works again
    row.locked_until = utcnow() - timedelta(seconds=1)
    session.commit()
    assert nurse.login().status_code == 303


def test_failures_far_apart_do_not_add_up_to_a_lock(make_web_user, session):
    nurse = make_web_user()
    for _ in range(4):
        nurse.login("guess")
    row = session.get(StaffLogin, nurse.id)
    row.last_failed_at = utcnow() - timedelta(hours=1)
    session.commit()
    nurse.login("guess")
    session.refresh(row)
    assert row.locked_until is None and row.failed_attempts == 1


def test_passwords_are_stored_as_argon2id_hashes(make_web_user, session):
    nurse = make_web_user()
    session.refresh(nurse.actor.staff)
    assert nurse.actor.staff.password_hash.startswith("$argon2id$")
    assert PASSWORD not in nurse.actor.staff.password_hash


def test_login_starts_a_new_session(make_web_user):
    nurse = make_web_user()
    with nurse.client.session_transaction() as planted:
        planted["staff_id"] = 999_999  # what an attacker might have fixed beforehand
        planted["planted"] = "yes"
    before = csrf_from(nurse.client.get("/login").get_data(as_text=True))
    nurse.login()
    with nurse.client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["staff_id"] == nurse.id
        assert sess.permanent
    after = csrf_from(nurse.client.get("/today").get_data(as_text=True))
    assert after != before


def test_session_cookie_is_httponly_and_samesite_lax(make_web_user):
    nurse = make_web_user()
    response = nurse.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_secure_in_production_unless_configured_otherwise(
    monkeypatch, database_url
):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert create_app({"SQLALCHEMY_DATABASE_URI": database_url}).config["SESSION_COOKIE_SECURE"]
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")
    assert not create_app({"SQLALCHEMY_DATABASE_URI": database_url}).config["SESSION_COOKIE_SECURE"]


def test_a_form_post_without_the_csrf_token_is_refused(make_web_user):
    nurse = make_web_user()
    nurse.login()
    refused = nurse.client.post("/logout")
    assert refused.status_code == 400
    assert "Formularen er udløbet" in refused.get_data(as_text=True)
    forged = nurse.client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert nurse.client.get("/today").status_code == 200  # still signed in


def test_a_login_post_without_the_csrf_token_is_refused(make_web_user):
    nurse = make_web_user()
    response = nurse.client.post("/login", data={"email": nurse.email, "password": PASSWORD})
    assert response.status_code == 400
    assert nurse.client.get("/today").status_code == 303


def test_the_bearer_token_api_is_not_subject_to_csrf(make_actor, municipality):
    nurse = make_actor("nurse")
    response = nurse.post(
        "/api/v1/patients",
        json={"cpr": "0101901234", "name": "Ny Patient", "municipality_id": municipality().id},
    )
    assert response.status_code == 201, response.json


def test_logout_ends_the_session_and_every_copy_of_its_cookie(make_web_user, app):
    nurse = make_web_user()
    nurse.login()
    copy = app.test_client()
    cookie = nurse.client.get_cookie("bridge_session")
    copy.set_cookie("bridge_session", cookie.value)
    assert copy.get("/today").status_code == 200
    response = nurse.post("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert nurse.client.get("/today").status_code == 303
    assert copy.get("/today").status_code == 303


def test_a_new_password_ends_existing_sessions(make_web_user, runner, session):
    nurse = make_web_user()
    nurse.login()
    result = runner.invoke(
        args=["set-password", "--email", nurse.email], input="a brand new password\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert "a brand new password" not in result.output
    assert nurse.client.get("/today").status_code == 303
    assert nurse.login("a brand new password").status_code == 303


def test_set_password_refuses_a_short_password_and_an_unknown_email(make_web_user, runner):
    nurse = make_web_user()
    short = runner.invoke(args=["set-password", "--email", nurse.email], input="short\nshort\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    unknown = runner.invoke(args=["set-password", "--email", "x@y.z"], input="x" * 12 + "\n")
    assert unknown.exit_code != 0


def test_an_open_redirect_after_login_is_not_possible(make_web_user):
    nurse = make_web_user()
    page = nurse.client.get("/login?next=//evil.example/").get_data(as_text=True)
    response = nurse.client.post(
        "/login",
        data={"csrf_token": csrf_from(page), "email": nurse.email, "password": PASSWORD,
              "next": "//evil.example/"},
    )  # fmt: skip
    assert response.headers["Location"] == "/today"


def test_a_disabled_account_is_signed_out(make_web_user, session):
    nurse = make_web_user()
    nurse.login()
    nurse.actor.staff.active = False
    session.commit()
    assert nurse.client.get("/today").status_code == 303
    assert session.scalar(select(StaffLogin).where(StaffLogin.staff_id == nurse.id)) is not None


def test_the_demo_nurses_log_in_with_the_documented_demo_password(session, app):
    from bridge.sampledata.demo import DEMO_PASSWORD, seed_demo

    seed_demo(session, patients=6)
    session.commit()
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    response = browser.post(
        "/login",
        data={"csrf_token": csrf_from(page), "email": "nurse.anna@bridge.demo",
              "password": DEMO_PASSWORD},
    )  # fmt: skip
    assert response.status_code == 303
    assert "Anna Brobygger" in browser.get("/caseload").get_data(as_text=True)
