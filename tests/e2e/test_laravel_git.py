"""A Laravel app deployed from a git repository the test hosts itself (git daemon)."""

from __future__ import annotations

import re
import subprocess
import time
from urllib.parse import urlsplit

import pytest
import requests

from chom.services import fleet as fleet_service

GREETING = "Deployed from git"


def _git(*args, cwd) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "HOME": str(cwd),
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                        "PATH": "/usr/bin:/bin"})


@pytest.fixture
def laravel_repo(fleet, tmp_path):
    """`git://<host side of vps1's link>/app.git`: an app on Debian's Laravel framework (its
    vendor/autoload.php is committed, so no Composer registry is needed)."""
    from chom_laravel import templates

    work = tmp_path / "app"
    for path, content in templates.STARTER_FILES.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content.replace("'Hello from Laravel '", f"'{GREETING} '"))
    (work / "artisan").write_text("#!/usr/bin/env php\n<?php\n")
    (work / "vendor").mkdir()
    (work / "vendor/autoload.php").write_text("<?php\n// Debian's php-laravel-framework.\n")
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "app", cwd=work)
    served = tmp_path / "served"
    served.mkdir()
    _git("clone", "-q", "--bare", str(work), str(served / "app.git"), cwd=tmp_path)
    _git("remote", "add", "served", str(served / "app.git"), cwd=work)
    address = fleet.hosts[0].host_address
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--listen={address}", "--port=9418",
         f"--base-path={served}", "--export-all", str(served)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            probe = subprocess.run(["git", "ls-remote", f"git://{address}/app.git"],
                                   capture_output=True, check=False)
            if probe.returncode == 0:
                break
            time.sleep(0.1)
        yield f"git://{address}/app.git", work
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def _git_site(app, account, host, url: str, domain: str) -> str:
    """A Laravel site from `url`'s `main` on `host`, provisioned; returns its id."""
    with app.app_context():
        fleet_service.add_vps(**host.add_vps_kwargs(
            settings={**host.profile, "ssh_key_path": host.client_key_path}))
    created = account.create_site(domain, type="laravel",
                                  options={"git_url": url, "git_ref": "main"})
    assert created.status_code == 202, created.json
    operation = account.wait_for_operation(created.json["meta"]["operation_id"], timeout=180)
    assert operation["status"] == "succeeded", operation["log"]
    return created.json["data"]["id"]


def test_laravel_app_from_git_answers_through_php_fpm(clean_app, register, fleet,
                                                      laravel_repo):
    host, account = fleet.hosts[0], register("Git Co")
    site_id = _git_site(clean_app, account, host, laravel_repo[0], "gitapp.example.com")
    page = requests.get(host.http_url, headers={"Host": "gitapp.example.com"}, timeout=10)
    assert page.status_code == 200 and GREETING in page.text, page.text[:300]
    env = host.path("var/www/gitapp.example.com/.env").read_text()
    assert "APP_KEY=base64:" in env and "DB_DATABASE=chom_" in env

    # Provisioning again converges: the clone is not redone, the app keeps answering.
    retried = account.post(f"/api/v1/sites/{site_id}/suspend")
    account.wait_for_operation(retried.json["data"]["id"], timeout=60)
    resumed = account.post(f"/api/v1/sites/{site_id}/resume")
    assert account.wait_for_operation(resumed.json["data"]["id"], timeout=60)[
        "status"] == "succeeded"
    assert GREETING in requests.get(host.http_url, headers={"Host": "gitapp.example.com"},
                                    timeout=10).text


NEW_GREETING = "Deployed again"
HOOKED_GREETING = "Deployed on push"


def test_deploy_brings_a_laravel_site_to_its_branchs_new_commit(clean_app, register, fleet,
                                                                laravel_repo):
    host, account = fleet.hosts[0], register("Deploy Co")
    url, work = laravel_repo
    site_id = _git_site(clean_app, account, host, url, "deployed.example.com")

    # A new commit on the branch, pushed to the repository the site was cloned from.
    _commit(work, GREETING, NEW_GREETING)
    assert GREETING in _page(host, "deployed.example.com")

    browser = clean_app.test_client()
    assert browser.post("/login", data={"email": account.email,
                                        "password": account.password}).status_code == 302
    assert f"/sites/{site_id}/deploy" in browser.get(f"/sites/{site_id}").get_data(as_text=True)

    deploy = account.post(f"/api/v1/sites/{site_id}/deploy")
    assert deploy.status_code == 202 and deploy.json["data"]["kind"] == "deploy"
    operation = account.wait_for_operation(deploy.json["data"]["id"], timeout=120)
    assert operation["status"] == "succeeded", operation["log"]
    assert NEW_GREETING in _page(host, "deployed.example.com")
    assert account.get(f"/api/v1/sites/{site_id}").json["data"]["status"] == "active"

    # Push-to-deploy: the console shows a URL once, and that URL alone (what a git host's
    # webhook calls) deploys.
    made = browser.post(f"/sites/{site_id}/deploy-hook").get_data(as_text=True)
    hook_url = re.search(r'<code id="deploy-hook-url">([^<]+)</code>', made).group(1)
    assert "/api/v1/deploy-hooks/chomdh_" in hook_url
    assert "deploy-hook-url" not in browser.get(f"/sites/{site_id}").get_data(as_text=True)
    _commit(work, NEW_GREETING, HOOKED_GREETING)
    hooked = clean_app.test_client().post(urlsplit(hook_url).path,
                                          json={"ref": "refs/heads/main"})
    assert hooked.status_code == 202 and hooked.json["data"]["kind"] == "deploy"
    operation = account.wait_for_operation(hooked.json["data"]["id"], timeout=120)
    assert operation["status"] == "succeeded", operation["log"]
    assert HOOKED_GREETING in _page(host, "deployed.example.com")
    # A push to another branch deploys nothing.
    operations = len(account.get(f"/api/v1/sites/{site_id}/operations").json["data"])
    other = clean_app.test_client().post(urlsplit(hook_url).path,
                                         json={"ref": "refs/heads/feature"})
    assert other.status_code == 200 and other.json == {
        "skipped": True, "pushed": "refs/heads/feature", "deploys": "main"}
    assert len(account.get(f"/api/v1/sites/{site_id}/operations").json["data"]) == operations
    # Audited under the organization, with no user: the URL, not a member, asked for it.
    deploys = [entry for entry in account.get("/api/v1/audit-log").json["data"]
               if entry["action"] == "site.deploy"]
    assert sorted(entry["actor_user_id"] is None for entry in deploys) == [False, True]
    # A new URL (here over the API) ends the old one, and so does removing it.
    renewed = account.post(f"/api/v1/sites/{site_id}/deploy-hook").json["data"]["url"]
    assert clean_app.test_client().post(urlsplit(hook_url).path).status_code == 404
    assert account.delete(f"/api/v1/sites/{site_id}/deploy-hook").status_code == 204
    assert clean_app.test_client().post(urlsplit(renewed).path).status_code == 404
    again = browser.post(f"/sites/{site_id}/deploy-hook").get_data(as_text=True)
    assert "Remove the URL" in again
    removed = browser.post(f"/sites/{site_id}/deploy-hook/delete", follow_redirects=True)
    assert "no longer works" in removed.get_data(as_text=True)
    assert account.delete(f"/api/v1/sites/{site_id}/deploy-hook").status_code == 404

    # A deploy that fails (the repository is gone) fails alone: the site keeps serving.
    (work.parent / "served/app.git").rename(work.parent / "served/moved.git")
    failed = account.post(f"/api/v1/sites/{site_id}/deploy")
    operation = account.wait_for_operation(failed.json["data"]["id"], timeout=120)
    assert operation["status"] == "failed"
    assert account.get(f"/api/v1/sites/{site_id}").json["data"]["status"] == "active"
    assert HOOKED_GREETING in _page(host, "deployed.example.com")


def _commit(work, old: str, new: str) -> None:
    """A commit on `main` that changes the greeting, pushed where the site clones from."""
    greeter = next(p for p in work.rglob("*.php") if old in p.read_text())
    greeter.write_text(greeter.read_text().replace(old, new))
    _git("commit", "-q", "-am", f"greet: {new}", cwd=work)
    _git("push", "-q", "served", "main", cwd=work)


def _page(host, domain: str) -> str:
    page = requests.get(host.http_url, headers={"Host": domain}, timeout=10)
    assert page.status_code == 200, page.text[:300]
    return page.text
