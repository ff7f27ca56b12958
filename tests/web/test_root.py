def test_browser_at_root_goes_to_today_and_api_client_gets_the_index(client):
    r = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/today")
    assert client.get("/", headers={"Accept": "application/json"}).json["api"] == "/api/v1"
