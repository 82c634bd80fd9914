"""Every console route that takes a site, tenant or silence id answers 404 to another
organization, and to a member scoped to another tenant of the same organization — walked from
the URL map, against the real Alertmanager (with a real silence of the victim's site)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import requests

from tests.members import add_member
from tests.web.console import log_in

# Route argument -> which of the victim's resources goes there.
RESOURCES = {"site_id": "site", "tenant_id": "tenant", "silence_id": "silence"}
FIXED = {"action": "suspend"}
# A body each form would accept, so that validation is not what stops the request.
BODIES = {"/silences": {"minutes": "30", "comment": "walked"}, "/rename": {"name": "Walked"}}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if (rule.endpoint.startswith("web.") and rule.arguments & RESOURCES.keys()
                and rule.arguments <= RESOURCES.keys() | FIXED.keys()):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _walk(app, client, resources) -> dict[tuple[str, str], int]:
    answers = {}
    for rule, method in _routes(app):
        url = rule.rule
        for argument in rule.arguments:
            value = FIXED.get(argument) or resources[RESOURCES[argument]]
            url = re.sub(rf"<(any\([^)]*\):)?{argument}>", value, url)
        body = next((b for suffix, b in BODIES.items() if url.endswith(suffix)), {})
        answers[(method, rule.rule)] = client.open(url, method=method, data=body).status_code
    return answers


def _victim(account, alertmanager_url) -> dict:
    created = account.create_site("walked.example.com")
    account.wait_for_operation(created.json["meta"]["operation_id"])
    site = created.json["data"]["id"]
    now = datetime.now(UTC)
    silence = requests.post(f"{alertmanager_url}/api/v2/silences", timeout=5, json={
        "matchers": [{"name": "site_id", "value": site, "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat(),
        "createdBy": account.email, "comment": "victim's"})
    assert silence.status_code == 200, silence.text
    return {"site": site, "tenant": account.tenant_id, "silence": silence.json()["silenceID"]}


def test_every_id_route_of_the_console_is_404_to_others(observed_app, observed_client,
                                                        observability_stack, register,
                                                        local_vps):
    victim, stranger = register("Victim Co"), register("Stranger Co")
    resources = _victim(victim, observability_stack.config["ALERTMANAGER_URL"])
    walked = {rule.rule for rule, _ in _routes(observed_app)}
    assert {"/sites/<site_id>/logs", "/sites/<site_id>/silences", "/sites/<site_id>/deploy-hook",
            "/sites/<site_id>/silences/<silence_id>/expire", "/tenants/<tenant_id>/rename",
            "/tenants/<tenant_id>/delete"} <= walked

    other = observed_app.test_client()
    log_in(other, stranger.email)
    answers = _walk(observed_app, other, resources)
    assert {route: status for route, status in answers.items() if status != 404} == {}

    # A member of the victim's organization scoped to another of its tenants: 404 as well.
    brand = victim.post("/api/v1/tenants", json={"name": "Brand"}).json["data"]["id"]
    scoped = add_member(observed_app, victim, "admin", [brand],
                        password="correct horse battery staple")
    inside = observed_app.test_client()
    log_in(inside, scoped["email"])
    answers = _walk(observed_app, inside, resources)
    assert {route: status for route, status in answers.items() if status != 404} == {}

    # Nothing was changed by the walks: the site, the tenant and the silence are all there.
    assert victim.get(f"/api/v1/sites/{resources['site']}").json["data"]["status"] == "active"
    assert [t["name"] for t in victim.get("/api/v1/tenants").json["data"]] == [
        "Victim Co", "Brand"]
    silences = observed_client.get(f"/api/v1/sites/{resources['site']}/silences",
                                   headers=victim.headers).json["data"]
    assert [s["id"] for s in silences] == [resources["silence"]]
