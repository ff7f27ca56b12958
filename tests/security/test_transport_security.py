"""Strict-Transport-Security goes with every answer given over HTTPS, and only then."""

from __future__ import annotations


def test_no_hsts_over_plain_http(client, make_actor):
    admin = make_actor("admin")
    assert "Strict-Transport-Security" not in admin.get("/api/v1/patients").headers
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_hsts_on_every_https_answer(client, make_actor):
    admin = make_actor("admin")
    api = admin.get("/api/v1/patients", base_url="https://bridge.example")
    page = client.get("/login", base_url="https://bridge.example")
    refused = client.get("/api/v1/patients", base_url="https://bridge.example")
    for r in (api, page, refused):
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    # the page keeps the other security headers beside it
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_behind_a_proxy_comes_from_the_server_not_from_a_client_header(client):
    # gunicorn sets the scheme from X-Forwarded-Proto only for a trusted proxy
    # (FORWARDED_ALLOW_IPS); a header a client sends straight to the app changes nothing.
    forged = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers
    proxied = client.get("/login", environ_overrides={"wsgi.url_scheme": "https"})
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000"
