"""Sites made real: created through the API, provisioned over SSH, served by the fleet's nginx."""

from __future__ import annotations

import json
from pathlib import Path

import redis
import requests
from sqlalchemy import select

from chom.extensions import db
from chom.models import VpsServer
from chom.reliability.breakers import make_breaker
from chom.services import operators
from tests.conftest import TEST_REDIS_URL
from tests.e2e.helpers import add_fleet_host as _add


def _get(host, domain, path="/", **kwargs):
    return requests.get(f"{host.http_url}{path}", headers={"Host": domain}, timeout=10,
                        allow_redirects=False, **kwargs)


def _provisioned(account, response):
    assert response.status_code == 202, response.json
    operation = account.wait_for_operation(response.json["meta"]["operation_id"], timeout=180)
    assert operation["status"] == "succeeded", operation["log"]
    return response.json["data"], operation


def _host_of(hosts, site):
    return next(h for h in hosts if h.name == site["vps"]["name"])


def test_vps_add_pins_the_presented_key_and_checks_the_stack(clean_app, fleet, register):
    host = fleet.hosts[0]
    runner = clean_app.test_cli_runner()
    settings = dict(host.profile)
    result = runner.invoke(args=[
        "chom", "vps", "add", host.address, "--name", "cli-added",
        "--key-file", host.client_key_path, "--settings", json.dumps(settings)])
    assert result.exit_code == 0, result.output
    with clean_app.app_context():
        vps = db.session.scalar(select(VpsServer).where(VpsServer.name == "cli-added"))
        assert vps.host_key == host.host_key
        assert {"nginx", "git"} <= set(vps.settings["stack"])
        assert tuple(map(int, vps.settings["stack"]["bash"].split("."))) >= (4, 4)
        # The VPS's own key is stored encrypted, never as written.
        plain = Path(host.client_key_path).read_text()
        assert vps.ssh_private_key_encrypted and plain not in vps.ssh_private_key_encrypted
        assert "ssh_key_path" not in vps.settings
    # Checked again later over the same pinned key: the stack is still there.
    again = runner.invoke(args=["chom", "vps", "check", "cli-added"])
    assert again.exit_code == 0 and "cli-added has the stack CHOM needs." in again.output
    # ...and it is the key the transport uses: a site provisions with it.
    account = register("Own Key Co")
    _provisioned(account, account.create_site("ownkey.example.com"))
    assert _get(host, "ownkey.example.com").status_code == 200


def test_operators_add_a_vps_over_the_api_with_its_own_key(clean_app, fleet, register):
    host = fleet.hosts[0]
    ops = register("Platform Co")
    with clean_app.app_context():
        operators.create_operator(email=ops.email, name="Ops", password=ops.password)
    settings = {k: v for k, v in host.profile.items() if k != "ssh_key_path"}
    added = ops.post("/api/v1/fleet", json={
        "name": "api-added", "host": host.address, "port": host.ssh_port,
        "ssh_user": host.ssh_user, "capacity": 5, "settings": settings,
        "private_key": Path(host.client_key_path).read_text()})
    assert added.status_code == 201, added.json
    assert added.json["data"]["used"] == 0 and "private_key" not in added.json["data"]
    with clean_app.app_context():
        vps = db.session.scalar(select(VpsServer).where(VpsServer.name == "api-added"))
        assert vps.host_key == host.host_key  # the key the host presented, pinned
        assert vps.ssh_private_key_encrypted
    checked = ops.post(f"/api/v1/fleet/{added.json['data']['id']}/check")
    assert checked.status_code == 200 and checked.json["data"]["missing"] == []
    # A second VPS of the same name is refused, and nothing more is saved.
    again = ops.post("/api/v1/fleet", json={
        "name": "api-added", "host": host.address, "port": host.ssh_port,
        "ssh_user": host.ssh_user, "settings": settings,
        "private_key": Path(host.client_key_path).read_text()})
    assert again.status_code == 409
    assert [v["name"] for v in ops.get("/api/v1/fleet").json["data"]] == ["api-added"]


def test_html_site_is_served_by_its_vps_and_deleted_without_trace(register, fleet_vps):
    account = register("Static Co")
    site, operation = _provisioned(account, account.create_site(
        "static.example.com", options={"index_html": "<h1>Hello from the fleet</h1>\n"}))
    assert operation["step_index"] == operation["step_count"]
    host = _host_of(fleet_vps, site)
    page = _get(host, "static.example.com")
    assert page.status_code == 200 and "Hello from the fleet" in page.text
    other = next(h for h in fleet_vps if h is not host)
    assert _get(other, "static.example.com").status_code == 404  # only its own VPS serves it
    # The site logs to files of its own, which the log shipper labels by their names.
    access_log = host.path("var/log/nginx/static.example.com.access.log")
    assert '"GET / HTTP/1.1" 200' in access_log.read_text()
    assert host.path("var/log/nginx/static.example.com.error.log").exists()
    assert "static.example.com" not in host.path("var/log/nginx/access.log").read_text()

    deleted = account.delete(f"/api/v1/sites/{site['id']}")
    assert account.wait_for_operation(deleted.json["data"]["id"], timeout=120)["status"] \
        == "succeeded"
    assert _get(host, "static.example.com").status_code == 404
    assert not host.path("var/www/static.example.com").exists()
    assert not host.path("etc/nginx/sites-enabled/static.example.com.conf").exists()
    assert not access_log.exists()
    assert not host.path("var/log/nginx/static.example.com.error.log").exists()


def test_wordpress_site_installs_and_deletes_everything(register, fleet_vps):
    account = register("Press Co")
    site, _ = _provisioned(account, account.create_site(
        "blog.example.com", type="wordpress",
        options={"site_title": "Fleet Blog", "admin_user": "editor",
                 "admin_email": "editor@example.com", "admin_password": "a long admin passphrase"}))
    host = _host_of(fleet_vps, site)
    home = _get(host, "blog.example.com")
    assert home.status_code == 200, home.text[:500]
    assert "Fleet Blog" in home.text
    short = site["id"].replace("-", "")[:12]
    assert host.sql(f"SHOW DATABASES LIKE 'chom_{short}'").strip() == f"chom_{short}"
    assert host.run(["id", "-u", f"chom{short}"]).returncode == 0
    # PHP's errors go to the site's own log, which only its user may write.
    php_log = host.path("var/log/chom-php/blog.example.com.log")
    host.path("var/www/blog.example.com/log-probe.php").write_text(
        '<?php error_log("chom e2e marker"); echo "logged";\n')
    assert _get(host, "blog.example.com", "/log-probe.php").text == "logged"
    assert "chom e2e marker" in php_log.read_text()
    assert php_log.stat().st_uid == int(host.run(["id", "-u", f"chom{short}"]).stdout)
    assert php_log.stat().st_mode & 0o777 == 0o640

    deleted = account.delete(f"/api/v1/sites/{site['id']}")
    assert account.wait_for_operation(deleted.json["data"]["id"], timeout=120)["status"] \
        == "succeeded"
    assert host.sql(f"SHOW DATABASES LIKE 'chom_{short}'").strip() == ""
    assert host.sql(f"SELECT user FROM mysql.user WHERE user = 'chom_{short}'").strip() == ""
    assert host.run(["id", "-u", f"chom{short}"], check=False).returncode != 0
    assert not list(host.path("etc/php/8.2/fpm/pool.d").glob(f"chom{short}*"))
    assert not host.path("var/www/blog.example.com").exists()
    assert not php_log.exists()


def test_laravel_skeleton_answers_through_php_fpm(register, fleet_vps):
    account = register("Artisan Co")
    site, _ = _provisioned(account, account.create_site("app.example.com", type="laravel"))
    host = _host_of(fleet_vps, site)
    page = _get(host, "app.example.com")
    assert page.status_code == 200, page.text[:500]
    assert "Hello from Laravel" in page.text


def test_a_full_vps_is_skipped_by_placement(clean_app, register, fleet):
    first, second = fleet.hosts[:2]
    _add(clean_app, first, capacity=1)
    _add(clean_app, second, capacity=5)
    account = register("Spread Co")
    placed = [account.create_site(f"spread{n}.example.com").json["data"]["vps"]["name"]
              for n in range(3)]
    # The VPS with the most room goes first; one that is full is never chosen.
    assert placed.count(first.name) <= 1
    assert placed.count(second.name) >= 2


def test_a_changed_host_key_is_refused_and_the_operation_says_so(clean_app, register, fleet):
    first, second = fleet.hosts[:2]
    _add(clean_app, first, host_key=second.host_key)  # pinned to the wrong key
    account = register("Pinned Co")
    response = account.create_site("pinned.example.com")
    operation = account.wait_for_operation(response.json["meta"]["operation_id"], timeout=60)
    assert operation["status"] == "failed"
    assert "host key" in operation["error"]
    site = account.get(f"/api/v1/sites/{response.json['data']['id']}").json["data"]
    assert site["status"] == "failed"


def test_a_vps_that_is_down_fails_the_operation_cleanly(clean_app, register, fleet):
    host = fleet.hosts[0]
    _add(clean_app, host, settings={**host.profile, "ssh_key_path": host.client_key_path,
                                    "connect_timeout": 2})
    host.stop()
    account = register("Down Co")
    response = account.create_site("down.example.com")
    operation = account.wait_for_operation(response.json["meta"]["operation_id"], timeout=60)
    assert operation["status"] == "failed"
    assert host.name in operation["error"]
    site = account.get(f"/api/v1/sites/{response.json['data']['id']}").json["data"]
    assert site["status"] == "failed"

    host.start()
    # Three failed attempts opened the VPS's circuit breaker (tests/e2e/test_breaker.py waits one
    # out); close it here, as its 60 s timeout would.
    with clean_app.app_context():
        vps_id = db.session.execute(
            select(VpsServer.id).where(VpsServer.name == host.name)).scalar_one()
    make_breaker(vps_id, host.name, redis=redis.Redis.from_url(TEST_REDIS_URL)).close()
    retried = account.post(f"/api/v1/sites/{site['id']}/retry")
    assert retried.status_code == 202
    assert account.wait_for_operation(retried.json["data"]["id"], timeout=120)["status"] \
        == "succeeded"
    assert _get(host, "down.example.com").status_code == 200


def test_suspended_site_answers_the_suspended_page(register, fleet_vps):
    account = register("Pause Co")
    site, _ = _provisioned(account, account.create_site("paused.example.com"))
    host = _host_of(fleet_vps, site)
    suspended = account.post(f"/api/v1/sites/{site['id']}/suspend")
    assert account.wait_for_operation(suspended.json["data"]["id"], timeout=60)["status"] \
        == "succeeded"
    page = _get(host, "paused.example.com")
    assert page.status_code == 503 and "suspended" in page.text
    resumed = account.post(f"/api/v1/sites/{site['id']}/resume")
    assert account.wait_for_operation(resumed.json["data"]["id"], timeout=60)["status"] \
        == "succeeded"
    assert _get(host, "paused.example.com").status_code == 200
