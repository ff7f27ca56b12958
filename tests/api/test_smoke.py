def test_health_answers_without_a_token(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.headers["X-Request-ID"]


def test_ready_reports_current_migrations(client):
    r = client.get("/ready")
    assert r.status_code == 200, r.json
    assert r.json["database"] == "ok"


def test_admin_lists_patients(make_actor, make_patient):
    admin = make_actor("admin")
    p = make_patient()
    r = admin.get("/api/v1/patients?limit=200")
    assert r.status_code == 200, r.json
    assert p.id in [i["id"] for i in r.json["items"]]
