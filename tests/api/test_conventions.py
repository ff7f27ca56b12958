"""The API's conventions: problem+json, limits, request ids, idempotency, ETags, pagination."""

from sqlalchemy import func, select

from bridge.domain.patients.models import Patient


def _new_patient_body(municipality_id, **extra):
    return {"cpr": "010190-1234", "name": "Åse Ørnsø", "municipality_id": municipality_id, **extra}


def test_validation_error_names_the_field_and_reason(make_actor, municipality):
    nurse = make_actor("nurse")
    r = nurse.post(
        "/api/v1/patients",
        json={"cpr": "321390-1234", "name": "X", "municipality_id": municipality().id},
    )
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    body = r.json
    assert set(body) >= {"type", "title", "status", "detail", "errors", "request_id"}
    assert "cpr" in body["errors"]
    assert r.headers["X-Request-ID"] == body["request_id"]


def test_unknown_fields_are_rejected(make_actor, municipality):
    nurse = make_actor("nurse")
    r = nurse.post(
        "/api/v1/patients", json=_new_patient_body(municipality().id, id=99, registered_by_id=1)
    )
    assert r.status_code == 422
    assert {"id", "registered_by_id"} <= set(r.json["errors"])


def test_timestamp_without_offset_is_rejected_clearly(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    r = nurse.post(
        f"/api/v1/patients/{patient.id}/consents",
        json={
            "recipient_kind": "social_psychiatry_facility",
            "scope": "minutes",
            "given_at": "2026-01-01T10:00:00",
        },
    )
    assert r.status_code == 422
    assert "offset" in r.json["errors"]["given_at"][0]


def test_malformed_json_is_a_4xx_problem(make_actor):
    nurse = make_actor("nurse")
    r = nurse.post("/api/v1/patients", data="{not json", content_type="application/json")
    assert 400 <= r.status_code < 500
    assert r.mimetype == "application/problem+json"


def test_oversized_body_is_413(make_actor):
    nurse = make_actor("nurse")
    r = nurse.post(
        "/api/v1/patients", data="x" * (1024 * 1024 + 1), content_type="application/json"
    )
    assert r.status_code == 413
    assert r.mimetype == "application/problem+json"


def test_unicode_names_round_trip(make_actor, municipality):
    nurse = make_actor("nurse")
    name = "Zoë Ærø-Bjørnåsen 🙂 e\u0301"
    r = nurse.post(
        "/api/v1/patients",
        json={"cpr": "0202851234", "name": name, "municipality_id": municipality().id},
    )
    assert r.status_code == 201, r.json
    assert nurse.get(f"/api/v1/patients/{r.json['id']}").json["name"] == name


def test_request_id_is_echoed_or_made(client):
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    made = client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers[
        "X-Request-ID"
    ]
    assert made and " " not in made


def test_unknown_route_is_a_problem(make_actor):
    r = make_actor("nurse").get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_idempotency_key_replays_the_first_response(session, make_actor, municipality):
    nurse = make_actor("nurse")
    body = _new_patient_body(municipality().id)
    headers = {"Idempotency-Key": "k-1"}
    first = nurse.post("/api/v1/patients", json=body, headers=headers)
    second = nurse.post("/api/v1/patients", json=body, headers=headers)
    assert first.status_code == 201, first.json
    assert second.status_code == 201
    assert second.json == first.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert (
        session.scalar(select(func.count()).select_from(Patient).where(Patient.cpr == "0101901234"))
        == 1
    )


def test_idempotency_key_with_another_body_is_422(make_actor, municipality):
    nurse = make_actor("nurse")
    headers = {"Idempotency-Key": "k-2"}
    assert (
        nurse.post(
            "/api/v1/patients", json=_new_patient_body(municipality().id), headers=headers
        ).status_code
        == 201
    )
    r = nurse.post(
        "/api/v1/patients", json=_new_patient_body(municipality().id, name="Other"), headers=headers
    )
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json["errors"]


def test_idempotency_keys_are_scoped_to_the_caller(make_actor, municipality):
    a, b = make_actor("nurse"), make_actor("nurse")
    headers = {"Idempotency-Key": "shared"}
    assert (
        a.post(
            "/api/v1/patients", json=_new_patient_body(municipality().id), headers=headers
        ).status_code
        == 201
    )
    # Same key, other caller: not a replay of a's response but a new request (here the same
    # person, whom b may not see: it becomes a request to join their care).
    r = b.post("/api/v1/patients", json=_new_patient_body(municipality().id), headers=headers)
    assert r.status_code == 202
    assert "Idempotent-Replayed" not in r.headers


def test_failed_request_is_not_remembered_under_its_key(make_actor, municipality):
    nurse = make_actor("nurse")
    headers = {"Idempotency-Key": "k-3"}
    bad = _new_patient_body(municipality().id, cpr="999999-9999")
    assert nurse.post("/api/v1/patients", json=bad, headers=headers).status_code == 422
    good = _new_patient_body(municipality().id)
    assert nurse.post("/api/v1/patients", json=good, headers=headers).status_code == 201


def test_patch_needs_if_match_and_stale_tag_is_412(make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    url = f"/api/v1/patients/{patient.id}"
    etag = nurse.get(url).headers["ETag"]
    assert nurse.patch(url, json={"name": "A"}).status_code == 428
    first = nurse.patch(url, json={"name": "A"}, headers={"If-Match": etag})
    assert first.status_code == 200
    assert first.headers["ETag"] != etag
    stale = nurse.patch(url, json={"name": "B"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert nurse.get(url).json["name"] == "A"


def test_keyset_pages_are_stable_under_inserts(make_actor, make_patient):
    admin = make_actor("admin")
    before = [make_patient().id for _ in range(5)]
    first = admin.get("/api/v1/patients?limit=3").json
    inserted = make_patient().id  # inserted while paging
    seen = [p["id"] for p in first["items"]]
    cursor = first["next_cursor"]
    assert cursor
    while cursor:
        page = admin.get(f"/api/v1/patients?limit=3&cursor={cursor}").json
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert set(before) | {inserted} <= set(seen)


def test_bad_cursor_and_limit_are_422(make_actor):
    admin = make_actor("admin")
    assert admin.get("/api/v1/patients?cursor=garbage!").status_code == 422
    assert admin.get("/api/v1/patients?limit=201").status_code == 422
    assert admin.get("/api/v1/patients?limit=0").status_code == 422


def test_list_shows_cpr_masked_and_never_in_full(make_actor, make_patient):
    nurse = make_actor("nurse")
    p = make_patient(nurse=nurse)
    r = nurse.get("/api/v1/patients")
    assert p.cpr not in r.get_data(as_text=True)
    assert r.json["items"][0]["cpr_masked"] == f"{p.cpr[:6]}-xxxx"


def test_search_by_full_cpr_is_exact(make_actor, make_patient):
    nurse = make_actor("nurse")
    p = make_patient(nurse=nurse)
    assert nurse.post("/api/v1/patients/search", json={"cpr": p.cpr}).json["id"] == p.id
    near = p.cpr[:9] + str((int(p.cpr[9]) + 2) % 10)
    assert nurse.post("/api/v1/patients/search", json={"cpr": near}).status_code == 404


def test_list_patients_runs_a_constant_number_of_statements(
    make_actor, make_patient, count_queries
):
    admin = make_actor("admin")
    for _ in range(3):
        make_patient()
    with count_queries() as small:
        few = admin.get("/api/v1/patients?limit=200").json["items"]
    for _ in range(20):
        make_patient()
    with count_queries() as large:
        many = admin.get("/api/v1/patients?limit=200").json["items"]
    assert len(many) == len(few) + 20
    assert small.count == large.count > 0


def test_nul_characters_are_rejected_not_a_500(make_actor, municipality):
    nurse = make_actor("nurse")
    r = nurse.post(
        "/api/v1/patients",
        json={"cpr": "0101901234", "name": "A\u0000B", "municipality_id": municipality().id},
    )
    assert r.status_code == 422
    assert nurse.get("/api/v1/patients?name=a%00b").status_code == 422
