"""Delivery endpoints may point only at public HTTPS hosts, unless a host is allowed by name."""

from __future__ import annotations

import pytest

from bridge.domain.errors import RuleViolation
from bridge.domain.notifications.destinations import DestinationPolicy, check_url

REFUSED = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3/hook",
    "https://localhost/hook",  # a name is judged by what it resolves to
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:169.254.169.254]/",
    "https://[fe80::1]/hook",
    "https://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "https://192.168.1.1/hook",
    "https://[fd00::5]/hook",
    "https://0.0.0.0/hook",
    "https://[::]/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "http://gp.example/hook",  # plain http only to allowed hosts
    "https://user:secret@gp.example/hook",
    "https://gp.example/hook\r\nX-Injected: 1",
    "https://gp.example/ho ok",
    "https://gp.example/hook\t",
    "https://gp.example:99999/hook",
    "ftp://gp.example/hook",
    "https:///hook",
]


@pytest.fixture
def strict(override_settings):
    override_settings(BRIDGE_ENDPOINT_ALLOWED_HOSTS="")


@pytest.fixture
def endpoints(make_actor, make_org):
    admin = make_actor("admin")
    org = make_org("gp_practice")
    return admin, f"/api/v1/organisations/{org.id}/endpoints"


@pytest.mark.parametrize("channel", ["webhook", "fhir"])
@pytest.mark.parametrize("url", REFUSED)
def test_an_endpoint_off_the_public_internet_is_refused(strict, endpoints, channel, url):
    admin, base = endpoints
    r = admin.post(base, json={"channel": channel, "url": url})
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert list(r.json["errors"]) == ["url"]
    assert admin.get(base).json == []  # nothing stored


@pytest.mark.parametrize("url", REFUSED)
def test_changing_an_endpoint_to_such_a_url_is_refused(strict, endpoints, url):
    admin, base = endpoints
    created = admin.post(base, json={"channel": "fhir", "url": "https://gp.example/fhir"})
    assert created.status_code == 201, created.json
    endpoint = f"{base}/{created.json['endpoint']['id']}"
    r = admin.patch(endpoint, json={"url": url})
    assert r.status_code == 422 and list(r.json["errors"]) == ["url"]
    assert admin.get(base).json[0]["url"] == "https://gp.example/fhir"


def test_a_public_https_endpoint_is_accepted(strict, endpoints):
    admin, base = endpoints
    r = admin.post(base, json={"channel": "webhook", "url": "https://gp.example:8443/hook?x=1"})
    assert r.status_code == 201, r.json


def test_allowed_hosts_may_be_private_and_plain_http(override_settings, make_actor, make_org):
    override_settings(BRIDGE_ENDPOINT_ALLOWED_HOSTS="127.0.0.1, receiver.local")
    admin = make_actor("admin")
    base = f"/api/v1/organisations/{make_org('gp_practice').id}/endpoints"
    ok = admin.post(base, json={"channel": "webhook", "url": "http://127.0.0.1:8080/hook"})
    assert ok.status_code == 201, ok.json
    named = admin.post(base, json={"channel": "fhir", "url": "http://receiver.local/fhir"})
    assert named.status_code == 201, named.json
    # the allowance is for what it names only
    other = f"/api/v1/organisations/{make_org('gp_practice').id}/endpoints"
    refused = admin.post(other, json={"channel": "webhook", "url": "https://10.0.0.5/hook"})
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["url"]


# --- the rule itself --------------------------------------------------------------------------


def test_a_name_is_refused_when_any_of_its_addresses_is_private():
    resolver = lambda host, port: ["93.184.216.34", "10.1.2.3"]  # noqa: E731
    with pytest.raises(RuleViolation) as refused:
        check_url("https://split.example/hook", DestinationPolicy(), resolver)
    assert list(refused.value.errors) == ["url"]
    public = lambda host, port: ["93.184.216.34", "2606:2800:220:1::1"]  # noqa: E731
    assert check_url("https://ok.example/hook", DestinationPolicy(), public)


def test_allowed_networks_and_names():
    policy = DestinationPolicy.parse("10.20.0.0/16, Receiver.Local., ::1")
    assert policy.host_allowed("receiver.local")
    assert policy.host_allowed("10.20.3.4") and not policy.host_allowed("10.21.0.1")
    assert policy.address_allowed("anything.example", "10.20.9.9")
    assert not policy.address_allowed("anything.example", "10.21.9.9")
    assert policy.address_allowed("receiver.local", "192.168.1.1")  # allowed by name
    with pytest.raises(ValueError, match="neither a host name"):
        DestinationPolicy.parse("http://x")
