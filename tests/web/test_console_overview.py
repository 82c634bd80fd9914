"""Console overview pages: dashboard usage and operations, sites list filters, tenant switcher."""

from __future__ import annotations

import re

from tests.web.console import log_in, member_client


def _site(owner, domain, type="html"):
    created = owner.create_site(domain, type)
    assert created.status_code == 202, created.json
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    return created.json["data"]["id"]


def test_dashboard_shows_plan_usage_bar_and_recent_operations(clean_app, register, local_vps):
    owner = register("Usage Co")
    for n in range(2):
        _site(owner, f"usage{n}.example.com")
    client = clean_app.test_client()
    log_in(client, owner.email)
    html = client.get("/dashboard").get_data(as_text=True)
    # Starter allows 5 sites: a meter of 2 out of 5, labelled for screen readers.
    assert re.search(r'<label for="usage-sites">Sites: 2 of 5</label>', html)
    assert re.search(r'<meter id="usage-sites" min="0" max="5"[^>]* value="2">', html)
    assert "Starter (trialing)" in html
    # Recent operations: both provisions, succeeded, each linking to its site.
    recent = html.split('id="operations-heading"', 1)[1]
    assert recent.count("Provision") == 2 and recent.count("badge-succeeded") == 2
    assert "usage0.example.com" in recent and "usage1.example.com" in recent
    # Backup storage against the plan's 10 GB: one backup made, still well under a GB.
    backup = owner.post(f"/api/v1/sites/{owner.get('/api/v1/sites').json['data'][0]['id']}"
                        "/backups").json["meta"]["operation_id"]
    assert owner.wait_for_operation(backup)["status"] == "succeeded"
    html = client.get("/dashboard").get_data(as_text=True)
    assert '<label for="usage-storage">Backup storage: 0.0 GB of 10 GB</label>' in html
    assert re.search(r'<meter id="usage-storage" min="0" max="10"[^>]* value="0.0">', html)


def test_sites_list_searches_and_filters_by_status_and_type(clean_app, register, local_vps):
    owner = register("List Co")
    _site(owner, "shop.alpha.example.com")
    _site(owner, "blog.alpha.example.com")
    beta = _site(owner, "shop.beta.example.com")
    suspended = owner.post(f"/api/v1/sites/{beta}/suspend")
    owner.wait_for_operation(suspended.json["data"]["id"])
    client = clean_app.test_client()
    log_in(client, owner.email)

    def domains(query=""):
        response = client.get(f"/sites{query}")
        assert response.status_code == 200
        return set(re.findall(r'>([a-z.]+\.example\.com)</a>', response.get_data(as_text=True)))

    assert domains() == {"shop.alpha.example.com", "blog.alpha.example.com",
                         "shop.beta.example.com"}
    assert domains("?q=SHOP") == {"shop.alpha.example.com", "shop.beta.example.com"}
    assert domains("?q=%25") == set()  # the search text is literal, not a LIKE pattern
    assert domains("?status=suspended") == {"shop.beta.example.com"}
    assert domains("?status=active&q=alpha") == {"shop.alpha.example.com",
                                                 "blog.alpha.example.com"}
    assert domains("?type=wordpress") == set()
    assert domains("?type=html&status=bogus") == {  # an unknown filter value is ignored
        "shop.alpha.example.com", "blog.alpha.example.com", "shop.beta.example.com"}
    page = client.get("/sites?q=beta").get_data(as_text=True)
    assert 'value="beta"' in page  # the filter keeps what was typed
    assert 'class="badge badge-suspended"' in page
    assert '<label for="q">' in page and '<label for="status">' in page


def test_sites_list_pages(clean_app, register, local_vps, monkeypatch):
    from chom.web import dashboard_pages

    monkeypatch.setattr(dashboard_pages, "PER_PAGE", 2)
    owner = register("Pages Co")
    for n in range(3):
        _site(owner, f"p{n}.example.com")
    client = clean_app.test_client()
    log_in(client, owner.email)
    first = client.get("/sites").get_data(as_text=True)
    assert "Page 1 of 2" in first and "p2.example.com" in first and "p0.example.com" not in first
    second = client.get("/sites?page=2").get_data(as_text=True)
    assert "p0.example.com" in second and "Previous" in second


def test_viewer_sees_no_new_site_links(clean_app, register, local_vps):
    owner = register("Viewer Co")
    client, _ = member_client(clean_app, owner, "viewer")
    for path in ("/dashboard", "/sites"):
        html = client.get(path).get_data(as_text=True)
        assert "/sites/new" not in html
        assert "/audit" not in html  # the audit log is for admins and owners
        assert 'href="/team"' not in html  # and so is the team page
    assert client.get("/team").status_code == 403  # refused all the same


def test_tenant_switcher_changes_the_tenant_and_refuses_unreachable_ones(clean_app, register,
                                                                        local_vps):
    owner = register("Agency")
    other = register("Elsewhere")
    client_tenant = owner.post("/api/v1/tenants", json={"name": "Client Brand"})
    assert client_tenant.status_code == 201
    brand_id = client_tenant.json["data"]["id"]
    created = owner.create_site("brand.example.com", headers={"X-Tenant-ID": brand_id})
    owner.wait_for_operation(created.json["meta"]["operation_id"],
                             headers={"X-Tenant-ID": brand_id})
    client = clean_app.test_client()
    log_in(client, owner.email)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'id="tenant-switch"' in dashboard and "Client Brand" in dashboard
    assert "brand.example.com" not in dashboard  # the first tenant is the default

    switched = client.post("/tenant", data={"tenant_id": brand_id})
    assert switched.status_code == 302
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Sites · Client Brand" in dashboard and "brand.example.com" in dashboard

    assert client.post("/tenant", data={"tenant_id": other.tenant_id}).status_code == 404
    assert client.post("/tenant", data={"tenant_id": "not-a-uuid"}).status_code == 404
    assert "Sites · Client Brand" in client.get("/dashboard").get_data(as_text=True)

    # A member limited to one tenant has nothing to switch to.
    member, _ = member_client(clean_app, owner, "member", tenant_ids=[brand_id])
    html = member.get("/dashboard").get_data(as_text=True)
    assert 'id="tenant-switch"' not in html and "brand.example.com" in html
    assert member.post("/tenant", data={"tenant_id": owner.tenant_id}).status_code == 404


def test_a_remembered_tenant_that_is_gone_falls_back_to_the_first(clean_app, register):
    owner = register("Agency")
    brand_id = owner.post("/api/v1/tenants", json={"name": "Short Lived"}).json["data"]["id"]
    client = clean_app.test_client()
    log_in(client, owner.email)
    assert client.post("/tenant", data={"tenant_id": brand_id}).status_code == 302
    assert "Sites · Short Lived" in client.get("/dashboard").get_data(as_text=True)
    assert owner.delete(f"/api/v1/tenants/{brand_id}").status_code == 204
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "Sites · Agency" in dashboard.get_data(as_text=True)
    assert client.get(f"/dashboard?tenant={brand_id}").status_code == 200  # flashes, no crash
