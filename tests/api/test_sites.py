"""The sites API: validation, conflicts, quota, placement, dry run, lifecycle."""

import pytest
from sqlalchemy import select

from chom.extensions import db
from chom.models import Site
from chom.services.text import UNSTORABLE_MESSAGE


@pytest.mark.parametrize("domain, stored", [
    ("Example.COM", "example.com"),
    ("shop.example.co.uk", "shop.example.co.uk"),
    ("münchen.de", "xn--mnchen-3ya.de"),
    ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
    ("a-b.example.com.", "a-b.example.com"),
])
def test_create_normalises_domain_and_answers_202_with_operation(register, local_vps,
                                                                 domain, stored):
    account = register("Acme")
    response = account.create_site(domain)
    assert response.status_code == 202, response.json
    site = response.json["data"]
    assert site["domain"] == stored
    assert site["status"] in ("pending", "provisioning", "active")
    assert site["vps"]["name"] == "local-test"
    assert set(site) == {"id", "domain", "type", "status", "php_version", "vps", "ssl",
                         "created_at", "updated_at"}
    operation = account.wait_for_operation(response.json["meta"]["operation_id"])
    assert operation["status"] == "succeeded", operation
    assert account.get(f"/api/v1/sites/{site['id']}").json["data"]["status"] == "active"


@pytest.mark.parametrize("domain", [
    "localhost", "*.example.com", "http://example.com", "example.com/path", "example.com:8080",
    "192.168.1.10", "-bad.example.com", "bad-.example.com", "exa_mple.com", "example.123",
    "a" * 64 + ".com", ("a" * 60 + ".") * 5 + "com", "", "   ", "user@example.com",
    "exam ple.com", "example..com",
])
def test_invalid_domains_are_422_and_create_nothing(clean_app, register, local_vps, domain):
    account = register("Acme")
    response = account.create_site(domain)
    assert response.status_code == 422
    assert "domain" in response.json["errors"]
    with clean_app.app_context():
        assert db.session.scalar(select(Site.id)) is None


def test_type_php_and_options_are_validated(register, local_vps):
    account = register("Acme")
    unknown = account.create_site("a.example.com", type="joomla")
    assert unknown.status_code == 422 and "type" in unknown.json["errors"]
    html_php = account.create_site("b.example.com", type="html", php_version="8.2")
    assert html_php.status_code == 422 and "php_version" in html_php.json["errors"]
    bad_php = account.create_site("c.example.com", type="wordpress", php_version="5.6")
    assert bad_php.status_code == 422 and "php_version" in bad_php.json["errors"]
    bad_option = account.create_site("d.example.com", type="html", options={"nope": 1})
    assert bad_option.status_code == 422
    assert any(key.startswith("options") for key in bad_option.json["errors"])
    extra = account.post("/api/v1/sites", json={"domain": "e.example.com", "type": "html",
                                                "tenant_id": "x"})
    assert extra.status_code == 422 and "tenant_id" in extra.json["errors"]
    # A NUL cannot reach a file or a command line on the VPS: refused here, not by the job.
    nul = account.create_site("f.example.com", type="html",
                              options={"index_html": "<h1>a\u0000b</h1>"})
    assert nul.status_code == 422
    assert nul.json["errors"] == {"options.index_html": [UNSTORABLE_MESSAGE]}
    wp_nul = account.create_site("g.example.com", type="wordpress",
                                 options={"site_title": "x\u0000"}, dry_run=True)
    assert wp_nul.status_code == 422 and "options.site_title" in wp_nul.json["errors"]
    assert account.get("/api/v1/sites").json["meta"]["total"] == 0


def test_php_site_gets_the_default_php_version(register, local_vps):
    account = register("Acme")
    response = account.create_site("wp.example.com", type="wordpress", dry_run=True)
    assert response.status_code == 200
    assert any(step["step"] == "EnsurePhpPool" for step in response.json["steps"])


def test_domain_taken_anywhere_on_the_platform_is_409(register, local_vps):
    alice, bob = register("Alice Co"), register("Bob Co")
    assert alice.create_site("taken.example.com").status_code == 202
    again = bob.create_site("TAKEN.example.com")
    assert again.status_code == 409
    assert again.json["type"].endswith("/domain-taken")
    assert alice.create_site("taken.example.com").status_code == 409


def test_quota_of_the_starter_plan_is_402(register, local_vps):
    account = register("Acme")
    for n in range(5):
        assert account.create_site(f"s{n}.example.com").status_code == 202
    over = account.create_site("s5.example.com")
    assert over.status_code == 402
    assert over.json["limit"] == 5
    assert account.get("/api/v1/sites").json["meta"]["total"] == 5


def test_no_vps_with_room_is_a_clear_503(register):
    account = register("Acme")
    response = account.create_site("nowhere.example.com")
    assert response.status_code == 503
    assert "VPS" in response.json["detail"]


def test_dry_run_returns_the_plan_and_touches_nothing(clean_app, register, local_vps):
    account = register("Acme")
    response = account.create_site("dry.example.com", dry_run=True)
    assert response.status_code == 200
    body = response.json
    assert body["dry_run"] is True and body["vps"] == "local-test"
    assert [s["index"] for s in body["steps"]] == list(range(1, len(body["steps"]) + 1))
    assert any("nginx" in s["description"] for s in body["steps"])
    with clean_app.app_context():
        assert db.session.scalar(select(Site.id)) is None
    assert not (local_vps["root"] / "var/www/dry.example.com").exists()


def test_list_paginates_and_filters(register, local_vps, clean_app):
    account = register("Acme")
    with clean_app.app_context():
        clean_app.config["CHOM_PLANS"]["starter"]["max_sites"] = 50
    try:
        for n in range(7):
            assert account.create_site(f"p{n}.example.com").status_code == 202
        assert account.create_site("wp.example.com", type="wordpress",
                                   dry_run=True).status_code == 200
        page = account.get("/api/v1/sites?per_page=3&page=2").json
        assert page["meta"] == {"page": 2, "per_page": 3, "total": 7}
        assert len(page["data"]) == 3
        everything = account.get("/api/v1/sites?per_page=100").json["data"]
        assert len({s["id"] for s in everything}) == 7
        assert account.get("/api/v1/sites?type=wordpress").json["meta"]["total"] == 0
        assert account.get("/api/v1/sites?type=html").json["meta"]["total"] == 7
        assert account.get("/api/v1/sites?status=bogus").status_code == 422
        assert account.get("/api/v1/sites?per_page=1000").status_code == 422
    finally:
        clean_app.config["CHOM_PLANS"]["starter"]["max_sites"] = 5


def test_delete_runs_an_operation_and_frees_the_domain(register, local_vps):
    account = register("Acme")
    created = account.create_site("gone.example.com")
    site_id = created.json["data"]["id"]
    account.wait_for_operation(created.json["meta"]["operation_id"])
    web_root = local_vps["root"] / "var/www/gone.example.com"
    assert (web_root / "index.html").exists()

    deleted = account.delete(f"/api/v1/sites/{site_id}")
    assert deleted.status_code == 202
    assert deleted.json["data"]["kind"] == "deprovision"
    operation = account.wait_for_operation(deleted.json["data"]["id"])
    assert operation["status"] == "succeeded", operation
    assert account.get(f"/api/v1/sites/{site_id}").json["data"]["status"] == "deleted"
    assert not web_root.exists()
    assert account.get("/api/v1/sites").json["meta"]["total"] == 0
    assert account.delete(f"/api/v1/sites/{site_id}").status_code == 404
    assert account.create_site("gone.example.com").status_code == 202


def test_unknown_or_malformed_ids_are_404(register):
    account = register("Acme")
    assert account.get("/api/v1/sites/not-a-uuid").status_code == 404
    assert account.get("/api/v1/sites/00000000-0000-0000-0000-000000000000").status_code == 404
    assert account.get("/api/v1/operations/nope").status_code == 404


def test_suspend_resume_and_retry_follow_the_site_status(register, local_vps):
    account = register("Acme")
    created = account.create_site("cycle.example.com")
    site_id = created.json["data"]["id"]
    assert account.wait_for_operation(created.json["meta"]["operation_id"])["status"] \
        == "succeeded"
    assert account.post(f"/api/v1/sites/{site_id}/resume").status_code == 409
    assert account.post(f"/api/v1/sites/{site_id}/retry").status_code == 409

    suspended = account.post(f"/api/v1/sites/{site_id}/suspend")
    assert suspended.status_code == 202 and suspended.json["data"]["kind"] == "suspend"
    assert account.wait_for_operation(suspended.json["data"]["id"])["status"] == "succeeded"
    assert account.get(f"/api/v1/sites/{site_id}").json["data"]["status"] == "suspended"
    conf = local_vps["root"] / "etc/nginx/sites-enabled/cycle.example.com.conf"
    assert "return 503" in conf.read_text()

    resumed = account.post(f"/api/v1/sites/{site_id}/resume")
    assert account.wait_for_operation(resumed.json["data"]["id"])["status"] == "succeeded"
    assert account.get(f"/api/v1/sites/{site_id}").json["data"]["status"] == "active"
    assert "return 503" not in conf.read_text()


def test_a_sites_operations_are_listed_newest_first(register, local_vps):
    account = register("Acme")
    created = account.create_site("ops.example.com")
    site_id = created.json["data"]["id"]
    account.wait_for_operation(created.json["meta"]["operation_id"])
    suspended = account.post(f"/api/v1/sites/{site_id}/suspend").json["data"]
    account.wait_for_operation(suspended["id"])
    listed = account.get(f"/api/v1/sites/{site_id}/operations").json
    assert [o["kind"] for o in listed["data"]] == ["suspend", "provision"]
    assert listed["meta"] == {"page": 1, "per_page": 25, "total": 2}
    assert account.get(f"/api/v1/sites/{site_id}/operations?per_page=1&page=2").json[
        "data"][0]["kind"] == "provision"


def test_bulk_create_is_all_or_nothing_and_provisions_every_site(clean_app, register,
                                                                 local_vps):
    account = register("Bulk Co")
    bad = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": "b1.example.com", "type": "html"},
        {"domain": "not a domain", "type": "html"},
        {"domain": "b3.example.com", "type": "joomla"},
        {"domain": "B1.example.com", "type": "html"},
    ]})
    assert bad.status_code == 422 and "sites.1.domain" in bad.json["errors"]
    unknown_type = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": "b1.example.com", "type": "html"},
        {"domain": "b3.example.com", "type": "joomla"}]})
    assert unknown_type.status_code == 422 and "sites.1.type" in unknown_type.json["errors"]
    assert account.get("/api/v1/sites").json["meta"]["total"] == 0

    duplicated = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": "b1.example.com", "type": "html"},
        {"domain": "B1.example.com", "type": "html"}]})
    assert duplicated.status_code == 422 and "sites.1.domain" in duplicated.json["errors"]

    over = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": f"q{n}.example.com", "type": "html"} for n in range(6)]})
    assert over.status_code == 402 and "6 were asked for" in over.json["detail"]
    assert account.get("/api/v1/sites").json["meta"]["total"] == 0

    ok = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": f"ok{n}.example.com", "type": "html"} for n in range(4)]})
    assert ok.status_code == 202
    assert [s["domain"] for s in ok.json["data"]] == [f"ok{n}.example.com" for n in range(4)]
    for operation_id in ok.json["meta"]["operation_ids"]:
        assert account.wait_for_operation(operation_id)["status"] == "succeeded"
    for n in range(4):
        assert (local_vps["root"] / f"var/www/ok{n}.example.com/index.html").exists()

    taken = account.post("/api/v1/sites/bulk", json={"sites": [
        {"domain": "ok0.example.com", "type": "html"}]})
    assert taken.status_code == 409 and taken.json["domains"] == ["ok0.example.com"]
