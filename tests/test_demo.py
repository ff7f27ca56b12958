"""The demo command works on SQLite from nothing."""

import re


def test_demo_seeds_sqlite_and_its_tokens_work(sqlite_demo):
    app, runner, output = sqlite_demo
    assert re.search(r"[1-9]\d* gaps found by a first scan", output), output
    tokens = dict(re.findall(r"^\s+(\S+)\s+(brg_\S+)$", output, re.M))
    assert {"admin:admin", "nurse:nurse.anna", "municipality:kk", "gp:gp.noerrebro"} <= set(tokens)
    client = app.test_client()
    nurse = client.get(
        "/api/v1/patients?limit=200",
        headers={"Authorization": f"Bearer {tokens['nurse:nurse.anna']}"},
    )
    admin = client.get(
        "/api/v1/patients?limit=200", headers={"Authorization": f"Bearer {tokens['admin:admin']}"}
    )
    assert nurse.status_code == 200 and admin.status_code == 200
    assert len(admin.json["items"]) == 50
    assert 0 < len(nurse.json["items"]) < 50
    # running it again adds no patients
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    again = client.get(
        "/api/v1/patients?limit=200", headers={"Authorization": f"Bearer {tokens['admin:admin']}"}
    )
    assert len(again.json["items"]) == 50
