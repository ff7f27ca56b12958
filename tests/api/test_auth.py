from datetime import timedelta

from bridge.domain.base import utcnow
from bridge.domain.registry.models import ApiToken


def _problem(r, status):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    return r.json


def test_missing_token_is_401_with_bearer_challenge(client):
    body = _problem(client.get("/api/v1/patients"), 401)
    assert "Bearer" in client.get("/api/v1/patients").headers["WWW-Authenticate"]
    assert body["request_id"]


def test_wrong_scheme_is_401(client, make_actor):
    nurse = make_actor("nurse")
    _problem(client.get("/api/v1/patients", headers={"Authorization": f"Basic {nurse.token}"}), 401)


def test_unknown_token_is_401(client):
    _problem(client.get("/api/v1/patients", headers={"Authorization": "Bearer brg_nope"}), 401)


def test_expired_token_is_401(session, make_actor):
    nurse = make_actor("nurse")
    token = session.query(ApiToken).filter_by(staff_id=nurse.id).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    _problem(nurse.get("/api/v1/patients"), 401)


def test_revoked_token_is_401(make_actor):
    admin = make_actor("admin")
    nurse = make_actor("nurse")
    tokens = admin.get(f"/api/v1/staff/{nurse.id}/tokens").json
    assert nurse.get("/api/v1/patients").status_code == 200
    r = admin.delete(f"/api/v1/staff/{nurse.id}/tokens/{tokens[0]['id']}")
    assert r.status_code == 200 and r.json["revoked_at"]
    _problem(nurse.get("/api/v1/patients"), 401)


def test_token_of_deactivated_staff_is_401(make_actor):
    admin = make_actor("admin")
    nurse = make_actor("nurse")
    etag = admin.get(f"/api/v1/staff/{nurse.id}").headers["ETag"]
    r = admin.patch(f"/api/v1/staff/{nurse.id}", json={"active": False}, headers={"If-Match": etag})
    assert r.status_code == 200, r.json
    _problem(nurse.get("/api/v1/patients"), 401)


def test_issued_token_is_shown_once_and_works(make_actor, client):
    admin = make_actor("admin")
    staff = admin.post(
        "/api/v1/staff",
        json={"organisation_id": admin.organisation_id, "name": "Ny GP", "roles": ["gp"]},
    ).json
    issued = admin.post(f"/api/v1/staff/{staff['id']}/tokens", json={"label": "praksis"})
    assert issued.status_code == 201
    secret = issued.json["token"]
    assert secret.startswith("brg_")
    listed = admin.get(f"/api/v1/staff/{staff['id']}/tokens").json
    assert [t["prefix"] for t in listed] == [secret[:10]]
    assert all("token" not in t for t in listed)
    assert secret not in admin.get(f"/api/v1/staff/{staff['id']}/tokens").get_data(as_text=True)
    r = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200


def test_only_admins_manage_staff(make_actor):
    nurse = make_actor("nurse")
    _problem(nurse.get("/api/v1/staff"), 403)
    _problem(nurse.post(f"/api/v1/staff/{nurse.id}/tokens", json={}), 403)
