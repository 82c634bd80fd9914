"""Console pages for admins and operators: the audit log and the fleet."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta

from chom.services import operators
from tests.conftest import PASSWORD
from tests.web.console import log_in, member_client


def _owner_client(app, owner):
    client = app.test_client()
    log_in(client, owner.email)
    return client


def test_audit_log_lists_and_filters_the_organizations_entries(clean_app, register, local_vps):
    owner = register("Audit Co")
    other = register("Other Co")
    owner.create_site("audited.example.com")
    owner.post("/api/v1/tokens", json={"name": "ci"})
    brand = owner.post("/api/v1/tenants", json={"name": "Brand"}).json["data"]["id"]
    owner.create_site("brand.example.com", headers={"X-Tenant-ID": brand})
    other.create_site("theirs.example.com")
    client = _owner_client(clean_app, owner)

    def actions(query=""):
        response = client.get(f"/audit{query}")
        assert response.status_code == 200
        return re.findall(r"<code>([a-z_.]+)</code>", response.get_data(as_text=True))

    everything = actions()
    assert "site.created" in everything and "token.created" in everything
    page = client.get("/audit").get_data(as_text=True)
    assert "audited.example.com" in page and owner.email in page
    assert "theirs.example.com" not in page  # another organization's entries never show
    assert set(actions("?action=site.")) == {"site.created"}
    today = datetime.now(UTC).date()
    assert actions(f"?since={today + timedelta(days=1)}") == []
    assert set(actions(f"?since={today}&until={today}")) == set(everything)
    assert actions(f"?tenant_id={brand}") == ["site.created"]
    assert "brand.example.com" in client.get(f"/audit?tenant_id={brand}").get_data(as_text=True)
    assert actions("?since=yesterday&tenant_id=nope") == everything  # junk filters are ignored
    assert 'value="site."' in client.get("/audit?action=site.").get_data(as_text=True)


def test_audit_log_is_for_admins_and_owners(clean_app, register):
    owner = register("Audit Co")
    assert "/audit" in _owner_client(clean_app, owner).get("/dashboard").get_data(as_text=True)
    admin, _ = member_client(clean_app, owner, "admin")
    assert admin.get("/audit").status_code == 200
    member, _ = member_client(clean_app, owner, "member")
    assert "/audit" not in member.get("/dashboard").get_data(as_text=True)
    assert member.get("/audit").status_code == 403


def _make_operator(app, owner):
    with app.app_context():
        operators.create_operator(email=owner.email, name="Op", password=PASSWORD)


def test_fleet_page_is_for_operators_only(clean_app, register, local_vps):
    owner = register("Host Co")
    client = _owner_client(clean_app, owner)
    assert "/fleet" not in client.get("/dashboard").get_data(as_text=True)
    assert client.get("/fleet").status_code == 403
    assert client.post("/fleet", data={"name": "sneaky"}).status_code == 403
    assert client.get(f"/fleet/{local_vps['id']}/reachability").status_code == 403


def test_fleet_page_shows_capacity_and_reachability(clean_app, register, local_vps):
    owner = register("Host Co")
    created = owner.create_site("placed.example.com")
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    _make_operator(clean_app, owner)
    client = _owner_client(clean_app, owner)
    html = client.get("/fleet").get_data(as_text=True)
    assert "local-test" in html
    assert re.search(rf'<meter id="capacity-{local_vps["id"]}" min="0" max="100"[^>]* value="1">',
                     html)
    probe_url = f"/fleet/{local_vps['id']}/reachability"
    assert f'hx-get="{probe_url}" hx-trigger="load"' in html
    assert "badge-active\">reachable" in client.get(probe_url).get_data(as_text=True)
    assert client.get("/fleet/00000000-0000-0000-0000-000000000000/reachability"
                      ).status_code == 404


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is


def test_add_vps_errors_are_inline_and_keep_what_was_typed(clean_app, register):
    owner = register("Host Co")
    _make_operator(clean_app, owner)
    client = _owner_client(clean_app, owner)
    bad = client.post("/fleet", data={"name": "", "host": "not a host!", "port": "70000",
                                      "ssh_user": "root; rm", "capacity": "ten"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field in ("name", "host", "port", "ssh_user", "capacity"):
        assert re.search(rf'id="{field}-errors"><p class="field-error">', html), field
    assert 'value="not a host!"' in html and 'value="70000"' in html

    port = _closed_port()
    unreachable = client.post("/fleet", data={
        "name": "nowhere", "host": "127.0.0.1", "port": str(port), "ssh_user": "root",
        "capacity": "10", "private_key_pem": "-----BEGIN nothing-----"})
    assert unreachable.status_code == 409
    html = unreachable.get_data(as_text=True)
    assert re.search(r'id="host-errors"><p class="field-error">[^<]*(usable|reach)', html)
    assert 'value="nowhere"' in html and "BEGIN nothing" not in html  # no key echoed back
    assert "nowhere" not in client.get("/fleet").get_data(as_text=True).split("<h2>Add")[0]
