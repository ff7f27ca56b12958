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


def _all(client, token: str, path: str) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, query_string=query, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.json
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        if not cursor:
            return items


def test_on_sqlite_a_municipality_lists_the_open_tasks_of_a_patient_who_moves_in(sqlite_demo):
    # The municipality's list reads the tasks' copy of the patient's municipality, which SQLite
    # keeps by its own triggers (migration followup_home_1).
    app, _, output = sqlite_demo
    tokens = dict(re.findall(r"^\s+(\S+)\s+(brg_\S+)$", output, re.M))
    admin, kk = tokens["admin:admin"], tokens["municipality:kk"]
    client = app.test_client()

    def listed(token: str) -> set[int]:
        return {t["id"] for t in _all(client, token, "/api/v1/follow-ups")}

    residents = _all(client, kk, "/api/v1/patients")
    kk_municipality = residents[0]["municipality_id"]
    before = listed(kk)
    every_task = _all(client, admin, "/api/v1/follow-ups")
    mover = next(t["patient_id"] for t in every_task if t["id"] not in before)
    theirs = {t["id"] for t in every_task if t["patient_id"] == mover}

    headers = {"Authorization": f"Bearer {admin}"}
    etag = client.get(f"/api/v1/patients/{mover}", headers=headers).headers["ETag"]
    moved = client.patch(
        f"/api/v1/patients/{mover}",
        json={"municipality_id": kk_municipality},
        headers={**headers, "If-Match": etag},
    )
    assert moved.status_code == 200, moved.json
    assert listed(kk) == before | theirs
