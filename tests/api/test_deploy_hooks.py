"""Push-to-deploy URLs: made for sites that have something to deploy, the secret alone
authorises a deploy of its own site, and anything else is a 404. (The deploy a hook starts is
run for real in tests/e2e/test_laravel_git.py.)"""

from __future__ import annotations

import pytest


def test_a_site_with_nothing_to_deploy_gets_no_hook(register, local_vps):
    owner = register("Static Co")
    created = owner.create_site("static.example.com")
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    site_id = created.json["data"]["id"]
    refused = owner.post(f"/api/v1/sites/{site_id}/deploy-hook")
    assert refused.status_code == 409 and "nothing to deploy" in refused.json["detail"]
    assert owner.delete(f"/api/v1/sites/{site_id}/deploy-hook").status_code == 404


@pytest.mark.parametrize("secret", ["chomdh_" + "x" * 43, "nonsense", "chom_" + "x" * 43])
def test_a_url_that_is_no_sites_hook_is_not_found(client, secret):
    answer = client.post(f"/api/v1/deploy-hooks/{secret}", json={"ref": "refs/heads/main"})
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
