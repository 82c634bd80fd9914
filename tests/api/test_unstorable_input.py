"""Input no store can keep (NUL, lone surrogates, pages past any offset) is a 422, never a 500,
and changes nothing; the console answers such requests without failing either."""

from __future__ import annotations

import json

import pytest

from chom.services.lookup import MAX_PAGE
from chom.services.text import UNSTORABLE_MESSAGE
from tests.web.console import log_in

NUL = "\x00"


def _refused(response, *fields):
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["title"] == "Unprocessable Content"
    assert sorted(body["errors"]) == sorted(fields)
    return body


def test_nul_in_a_json_field_is_refused_and_nothing_changes(register):
    owner = register("Acme")
    answered = owner.client.patch("/api/v1/organization", json={"name": f"Ac{NUL}me"},
                                  headers=owner.headers)
    body = _refused(answered, "name")
    assert body["errors"]["name"] == [UNSTORABLE_MESSAGE]
    assert owner.get("/api/v1/organization").json["data"]["name"] == "Acme"


def test_nul_deep_in_a_body_is_named_by_its_path(register):
    owner = register()
    answered = owner.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": "fine.example.com", "type": "html"},
        {"domain": "bad.example.com", "type": "html", "options": {"index_html": f"<p>{NUL}"}},
    ]})
    body = _refused(answered, "sites.1.options.index_html")
    assert body["errors"]["sites.1.options.index_html"] == [UNSTORABLE_MESSAGE]
    assert owner.get("/api/v1/sites").json["meta"]["total"] == 0


def test_the_edge_check_names_a_list_item_before_the_schema_reads_it(register):
    owner = register()
    answered = owner.post("/api/v1/notification-channels", json={
        "kind": "webhook", "target": "http://127.0.0.1:9/hook", "events": ["test", f"x{NUL}"]})
    body = _refused(answered, "events.1")
    assert body["errors"]["events.1"] == [UNSTORABLE_MESSAGE]  # not the schema's choice error
    assert owner.get("/api/v1/notification-channels").json["data"] == []


def test_nul_in_a_key_is_refused(register):
    owner = register()
    answered = owner.post("/api/v1/sites", json={
        "domain": "keys.example.com", "type": "html", "options": {f"a{NUL}": "b"}})
    _refused(answered, f"options.a{NUL}")


def test_a_lone_surrogate_is_refused(register):
    owner = register()
    raw = '{"name": "Acme \\ud800"}'  # valid JSON, but no Unicode text
    answered = owner.client.patch("/api/v1/organization", data=raw,
                                  content_type="application/json", headers=owner.headers)
    _refused(answered, "name")
    assert json.loads(raw)["name"].endswith("\ud800")  # the test sends what it says


def test_nul_in_the_query_string_is_refused(register):
    owner = register()
    _refused(owner.get("/api/v1/sites?type=html%00"), "type")


@pytest.mark.parametrize("page", [MAX_PAGE + 1, 62105975, 10**20])
def test_a_page_past_the_bound_is_refused(register, page):
    owner = register()
    _refused(owner.get(f"/api/v1/sites?page={page}&per_page=100"), "page")


def test_the_last_allowed_page_is_an_empty_page(register):
    owner = register()
    answered = owner.get(f"/api/v1/sites?page={MAX_PAGE}&per_page=100")
    assert answered.status_code == 200
    assert answered.json["data"] == [] and answered.json["meta"]["page"] == MAX_PAGE


@pytest.mark.parametrize("path", ["/dashboard", "/audit"])
def test_console_lists_answer_a_page_past_any_bound(client, register, path):
    owner = register()
    log_in(client, owner.email)
    assert client.get(f"{path}?page={10**20}").status_code == 200


def test_nul_in_a_console_form_is_refused_without_failing(client, register):
    owner = register("Acme")
    log_in(client, owner.email)
    answered = client.post("/login", data={"email": f"x{NUL}@acme.test", "password": "x"})
    assert answered.status_code == 422
    assert owner.get("/api/v1/organization").json["data"]["name"] == "Acme"
