"""Console tenant management (admins and owners): the list with usage, create, rename, delete
(refused with the tenant's sites listed when it holds any); the header's switcher offers a new
tenant at once; viewers read only; another organization's tenant is a 404."""

from __future__ import annotations

import re

from tests.web.console import log_in, member_client


def _console(app, account):
    client = app.test_client()
    log_in(client, account.email)
    return client


def _row(page: str, tenant_id: str) -> str:
    return page.split(f'id="tenant-{tenant_id}"', 1)[1].split("</tr>", 1)[0]


def _switcher_names(page: str) -> list[str]:
    select = page.split('id="tenant-switch"', 1)[1].split("</select>", 1)[0]
    return re.findall(r"<option [^>]*>([^<]+)</option>", select)


def test_create_rename_and_delete_tenants(clean_app, register, local_vps):
    owner = register("Agency")
    created = owner.create_site("client-site.example.com")
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    client = _console(clean_app, owner)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/tenants"' in dashboard and 'id="tenant-switch"' not in dashboard

    page = client.get("/tenants").get_data(as_text=True)
    first = _row(page, owner.tenant_id)
    assert "Starter (trialing)" in first and "Sites: 1 of 5" in first
    assert '<meter id="usage-' in first and "current" in first

    refused = client.post("/tenants", data={"name": "   "})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in text and 'value="   "' in text
    assert re.search(r'id="name-errors"><p class="field-error">', text)

    made = client.post("/tenants", data={"name": "Client B"}, follow_redirects=True)
    text = made.get_data(as_text=True)
    assert "Tenant Client B created" in text
    # The header's switcher offers it on the very next page.
    assert _switcher_names(text) == ["Agency", "Client B"]
    brand = next(t["id"] for t in owner.get("/api/v1/tenants").json["data"]
                 if t["name"] == "Client B")
    assert "Sites: 0 of 5" in _row(text, brand)

    too_long = client.post(f"/tenants/{brand}/rename", data={"name": "x" * 201})
    assert too_long.status_code == 422
    text = too_long.get_data(as_text=True)
    assert f'value="{"x" * 201}"' in text
    assert f'id="name-{brand}-errors"><p class="field-error">' in text
    renamed = client.post(f"/tenants/{brand}/rename", data={"name": "Client Bee"},
                          follow_redirects=True).get_data(as_text=True)
    assert "Tenant renamed to Client Bee." in renamed
    assert _switcher_names(renamed) == ["Agency", "Client Bee"]

    blocked = client.post(f"/tenants/{owner.tenant_id}/delete")
    assert blocked.status_code == 409
    row = _row(blocked.get_data(as_text=True), owner.tenant_id)
    assert "still holds 1 site(s)" in row and "<li>client-site.example.com</li>" in row

    # Deleting the tenant the console is working in: the switcher forgets it.
    assert client.post("/tenant", data={"tenant_id": brand}).status_code == 302
    gone = client.post(f"/tenants/{brand}/delete", follow_redirects=True)
    text = gone.get_data(as_text=True)
    assert gone.status_code == 200 and "Tenant deleted." in text
    assert f'id="tenant-{brand}"' not in text and 'id="tenant-switch"' not in text
    assert [t["name"] for t in owner.get("/api/v1/tenants").json["data"]] == ["Agency"]


def test_viewers_read_tenants_and_others_get_404(clean_app, register):
    owner, stranger = register("Agency"), register("Stranger Co")
    brand = owner.post("/api/v1/tenants", json={"name": "Brand"}).json["data"]["id"]

    viewer, _ = member_client(clean_app, owner, "viewer")
    assert 'href="/tenants"' not in viewer.get("/dashboard").get_data(as_text=True)
    page = viewer.get("/tenants").get_data(as_text=True)
    assert "Brand" in page
    assert "Rename" not in page and "Delete" not in page and "Create tenant" not in page
    assert viewer.post("/tenants", data={"name": "Sneaky"}).status_code == 403
    assert viewer.post(f"/tenants/{brand}/rename", data={"name": "Sneaky"}).status_code == 403
    assert viewer.post(f"/tenants/{brand}/delete").status_code == 403
    member, _ = member_client(clean_app, owner, "member")
    assert member.post("/tenants", data={"name": "Sneaky"}).status_code == 403
    admin, _ = member_client(clean_app, owner, "admin")
    assert 'href="/tenants"' in admin.get("/dashboard").get_data(as_text=True)
    assert admin.post(f"/tenants/{brand}/rename", data={"name": "Brand 2"}).status_code == 302

    other = _console(clean_app, stranger)
    assert other.post(f"/tenants/{brand}/rename", data={"name": "Mine"}).status_code == 404
    assert other.post(f"/tenants/{brand}/delete").status_code == 404
    assert other.post("/tenants/not-a-uuid/delete").status_code == 404
    assert "Brand" not in other.get("/tenants").get_data(as_text=True)
    # A member scoped to the first tenant does not reach Brand either.
    scoped, _ = member_client(clean_app, owner, "admin", tenant_ids=[owner.tenant_id])
    assert scoped.post(f"/tenants/{brand}/delete").status_code == 404
    assert [t["name"] for t in owner.get("/api/v1/tenants").json["data"]] == ["Agency",
                                                                              "Brand 2"]


def test_the_new_forms_refuse_a_missing_csrf_token(app, register, local_vps, tmp_path):
    """With CSRF on (as in production), every new form's POST needs the form's token."""
    from chom import create_app
    from tests.conftest import PASSWORD, base_config

    owner = register("Csrf Agency")
    created = owner.create_site("csrf-site.example.com")
    site = created.json["data"]["id"]
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    client = create_app(base_config(tmp_path, WTF_CSRF_ENABLED=True)).test_client()

    def token(path):
        return re.search(r'name="csrf_token" value="([^"]+)"',
                         client.get(path).get_data(as_text=True)).group(1)

    assert client.post("/login", data={"email": owner.email, "password": PASSWORD,
                                       "csrf_token": token("/login")}).status_code == 302
    page = client.get("/tenants").get_data(as_text=True)
    for form in ('action="/tenants"', f'action="/tenants/{owner.tenant_id}/rename"',
                 f'action="/tenants/{owner.tenant_id}/delete"'):
        after = page.split(form, 1)[1]
        assert after.split("</form>", 1)[0].count('name="csrf_token"') == 1, form
    for path, data in (("/tenants", {"name": "No Token"}),
                       (f"/tenants/{owner.tenant_id}/rename", {"name": "No Token"}),
                       (f"/tenants/{owner.tenant_id}/delete", {}),
                       (f"/sites/{site}/silences", {"minutes": "30", "comment": "x"}),
                       (f"/sites/{site}/silences/{site}/expire", {})):
        assert client.post(path, data=data).status_code == 400, path
    assert [t["name"] for t in owner.get("/api/v1/tenants").json["data"]] == ["Csrf Agency"]
    made = client.post("/tenants", data={"name": "With Token", "csrf_token": token("/tenants")})
    assert made.status_code == 302
