"""Grafana folders and dashboards per tenant, against the Grafana fake."""

from __future__ import annotations

from chom.services import dashboards


def _site(account, domain, headers=None):
    created = account.create_site(domain, headers=headers)
    assert created.status_code == 202, created.json
    account.wait_for_operation(created.json["meta"]["operation_id"], headers=headers)
    return created.json["data"]["id"]


def _dashboard_of(grafana, tenant_id):
    folder = dashboards_folder(tenant_id)
    [hit] = [d for d in grafana.dashboards.values() if d["meta"]["folderUid"] == folder]
    return hit["dashboard"]


def dashboards_folder(tenant_id: str) -> str:
    from chom.integration.observability.grafana import folder_uid

    return folder_uid(tenant_id)


def test_each_tenant_gets_a_folder_only_its_team_sees(observed_app, observed_client,
                                                      observability_stack, register, local_vps):
    grafana = observability_stack.grafana
    owner = register("Agency")
    second = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    _site(owner, "dash-a1.example.com")
    _site(owner, "dash-a2.example.com")
    _site(owner, "dash-b.example.com", headers={"X-Tenant-ID": second})

    with observed_app.app_context():
        first = dashboards.provision_tenant_dashboards(owner.tenant_id)
        other = dashboards.provision_tenant_dashboards(second)
    assert first["folder"] != other["folder"]
    for tenant, result, domains in ((owner.tenant_id, first,
                                     ["dash-a1.example.com", "dash-a2.example.com"]),
                                    (second, other, ["dash-b.example.com"])):
        folder = grafana.folders[result["folder"]]
        # Only the tenant's team may view the folder (Grafana's role defaults replaced).
        team = grafana.teams[result["team_id"]]
        assert team["name"] == f"chom-tenant-{tenant}"
        assert grafana.permissions[folder["uid"]] == [{"teamId": team["id"], "permission": 1}]
        dashboard = _dashboard_of(grafana, tenant)
        assert result["dashboards"] == [dashboard["uid"]]
        variable = dashboard["templating"]["list"][0]
        assert variable["name"] == "host" and variable["query"].split(",") == domains
        assert all('host=~"$host"' in panel["targets"][0]["expr"]
                   for panel in dashboard["panels"])

    # Again, after a new site: updated in place (same folder, team, dashboard; a new version).
    _site(owner, "dash-a3.example.com")
    with observed_app.app_context():
        again = dashboards.provision_tenant_dashboards(owner.tenant_id)
    assert again == first
    dashboard = _dashboard_of(grafana, owner.tenant_id)
    assert dashboard["version"] == 2
    assert "dash-a3.example.com" in dashboard["templating"]["list"][0]["query"]
    assert len([t for t in grafana.teams.values()
                if t["name"] == f"chom-tenant-{owner.tenant_id}"]) == 1


def test_the_cli_provisions_every_tenant(observed_app, observed_client, observability_stack,
                                         register, local_vps):
    alice = register("Alice Co")
    _site(alice, "dash-cli.example.com")
    runner = observed_app.test_cli_runner()
    result = runner.invoke(args=["chom", "dashboards", "--tenant", alice.tenant_id])
    assert result.exit_code == 0, result.output
    assert f"tenant {alice.tenant_id}: folder chom-" in result.output
    assert dashboards_folder(alice.tenant_id) in observability_stack.grafana.folders
    bad = runner.invoke(args=["chom", "dashboards", "--tenant", "nope"])
    assert bad.exit_code != 0 and "no tenant nope" in bad.output


def test_dashboards_follow_the_sites(make_app, observability_stack, local_vps):
    """Provisioning or deleting a site refreshes its tenant's dashboard (a job, via the
    lifecycle hooks), with Grafana configured."""
    from tests.conftest import PASSWORD, Account

    grafana = observability_stack.grafana
    app = make_app(GRAFANA_URL=grafana.url, GRAFANA_TOKEN=grafana.token)
    client = app.test_client()
    registered = client.post("/api/v1/auth/register", json={
        "organization": "Follow Co", "name": "O", "email": "o@follow.test",
        "password": PASSWORD})
    owner = Account(client, registered.json["data"], PASSWORD)
    kept = _site(owner, "follow-1.example.com")
    gone = _site(owner, "follow-2.example.com")
    app.extensions["chom_queue"].wait_idle()
    listed = _dashboard_of(grafana, owner.tenant_id)["templating"]["list"][0]["query"]
    assert listed.split(",") == ["follow-1.example.com", "follow-2.example.com"]

    deleted = owner.delete(f"/api/v1/sites/{gone}")
    assert deleted.status_code == 202
    owner.wait_for_operation(deleted.json["data"]["id"])
    app.extensions["chom_queue"].wait_idle()
    listed = _dashboard_of(grafana, owner.tenant_id)["templating"]["list"][0]["query"]
    assert listed.split(",") == ["follow-1.example.com"]
    assert owner.get(f"/api/v1/sites/{kept}").status_code == 200
