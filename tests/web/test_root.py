def test_browser_at_root_goes_to_the_login_and_api_client_gets_the_index(client):
    r = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert client.get("/", headers={"Accept": "application/json"}).json["api"] == "/api/v1"


def test_an_unknown_url_answers_a_danish_page_in_a_browser_and_problem_json_to_the_api(client):
    html = {"Accept": "text/html,application/xhtml+xml"}
    page = client.get("/no/such/page", headers=html)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert '<html lang="da">' in page.get_data(as_text=True)
    assert "Ikke fundet" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing", headers=html)
    assert api.mimetype == "application/problem+json"
    assert client.get("/no/such/page").mimetype == "application/problem+json"
