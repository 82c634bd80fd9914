"""Coherency: what a VPS holds against what CHOM's database says, and repair by re-applying."""

from __future__ import annotations

import re
import time
from pathlib import Path

import requests

WORDPRESS = {"site_title": "Drifting", "admin_email": "a@example.com",
             "admin_password": "a long admin passphrase"}


def _provisioned(account, response) -> dict:
    assert response.status_code == 202, response.json
    operation = account.wait_for_operation(response.json["meta"]["operation_id"], timeout=180)
    assert operation["status"] == "succeeded", operation["log"]
    return response.json["data"]


def _reconcile(app, *args):
    return app.test_cli_runner().invoke(args=["chom", "reconcile", *args])


def _host_of(hosts, site):
    return next(h for h in hosts if h.name == site["vps"]["name"])


def _line_of(output: str, domain: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(domain + " "))


def test_drift_is_reported_per_site_and_repaired_by_reapplying_the_plan(
        fleet_vps, rq_workers, register):
    account = register("Drift Co")
    html = _provisioned(account, account.create_site("steady.example.com"))
    wordpress = _provisioned(account, account.create_site(
        "drifty.example.com", type="wordpress", options=WORDPRESS))
    app = rq_workers.app

    clean = _reconcile(app, "--check-only")
    assert clean.exit_code == 0, clean.output
    assert "2 site(s) checked, 0 incoherent" in clean.output

    # Break both sites behind CHOM's back: a vhost and a page gone, a pool and a database gone.
    html_host, wp_host = _host_of(fleet_vps, html), _host_of(fleet_vps, wordpress)
    Path(html_host.profile["nginx_sites_dir"], "steady.example.com.conf").unlink()
    Path(html_host.profile["web_root_base"], "steady.example.com", "index.html").unlink()
    pool_dir = wp_host.profile["php_pool_dir"].format(php_version="8.2")
    short = wordpress["id"].replace("-", "")[:12]
    Path(pool_dir, f"chom{short}.conf").unlink()
    wp_host.sql(f"DROP DATABASE chom_{short}")

    drifted = _reconcile(app, "--check-only")
    assert drifted.exit_code == 1, drifted.output
    assert "2 site(s) checked, 2 incoherent, 0 repair(s) queued" in drifted.output
    html_line = _line_of(drifted.output, "steady.example.com")
    assert "ensure nginx site steady.example.com.conf" in html_line
    assert "index.html (when missing)" in html_line
    wp_line = _line_of(drifted.output, "drifty.example.com")
    assert f"ensure php8.2-fpm pool chom{short}" in wp_line
    assert f"ensure database chom_{short}" in wp_line
    assert "nginx site" not in wp_line  # only what really drifted is reported

    # Only the named site is looked at with --site.
    one = _reconcile(app, "--check-only", "--site", html["id"])
    assert "1 site(s) checked, 1 incoherent" in one.output

    repaired = _reconcile(app)
    assert "2 repair(s) queued" in repaired.output, repaired.output
    repairs = re.findall(r"repair operation (\S+) queued", repaired.output)
    for operation_id in repairs:
        operation = account.wait_for_operation(operation_id, timeout=120)
        assert operation["status"] == "succeeded", operation["log"]
    after = _reconcile(app, "--check-only")
    assert after.exit_code == 0, after.output
    assert "2 site(s) checked, 0 incoherent" in after.output
    page = requests.get(html_host.http_url, headers={"Host": "steady.example.com"}, timeout=10)
    assert page.status_code == 200 and "steady.example.com" in page.text
    assert wp_host.sql(f"SHOW DATABASES LIKE 'chom\\_{short}'").split() == [f"chom_{short}"]
    sites = {s["domain"]: s["status"] for s in account.get("/api/v1/sites").json["data"]}
    assert sites == {"steady.example.com": "active", "drifty.example.com": "active"}
    operations = account.get(f"/api/v1/sites/{html['id']}/operations").json["data"]
    assert operations[0]["kind"] == "repair" and operations[0]["status"] == "succeeded"


def test_an_unreachable_vps_is_reported_not_repaired(fleet_vps, rq_workers, register):
    account = register("Dark Co")
    site = _provisioned(account, account.create_site("dark.example.com"))
    host = _host_of(fleet_vps, site)
    host.kill_sshd()
    try:
        result = _reconcile(rq_workers.app)
    finally:
        host.start_sshd()
    assert result.exit_code == 1
    assert "dark.example.com" in result.output and "not reached" in result.output
    assert "0 repair(s) queued" in result.output


def _strip_lines(path: Path, *needles: str) -> str:
    """Rewrite `path` without its lines holding any of `needles`; return what it held."""
    held = path.read_text()
    path.write_text("".join(line for line in held.splitlines(keepends=True)
                            if not any(needle in line for needle in needles)))
    return held


def test_sites_made_by_older_templates_are_brought_up_to_date(fleet_vps, rq_workers, register):
    """A site provisioned before server blocks and pools had logs of their own: the check
    reports exactly those files, and the repair writes them as the plans hold them now."""
    account = register("Upgrade Co")
    site = _provisioned(account, account.create_site(
        "older.example.com", type="wordpress", options=WORDPRESS))
    host, short = _host_of(fleet_vps, site), site["id"].replace("-", "")[:12]
    block = next(p for p in Path(host.profile["nginx_sites_dir"]).iterdir()
                 if "server_name older.example.com;" in p.read_text())
    pool = Path(host.profile["php_pool_dir"].format(php_version="8.2"), f"chom{short}.conf")
    current_block = _strip_lines(block, "access_log", "error_log")
    current_pool = _strip_lines(pool, "php_admin_value[error_log]", "php_admin_flag[log_errors]")
    access_log = host.path("var/log/nginx/older.example.com.access.log")
    php_log = host.path("var/log/chom-php/older.example.com.log")
    access_log.unlink()
    php_log.unlink()
    host.run(host.profile["commands"]["nginx_reload"])
    php_fpm_reload = host.profile["commands"]["php_fpm_reload"]
    host.run([word.format(php_version="8.2") for word in php_fpm_reload])
    assert requests.get(host.http_url, headers={"Host": "older.example.com"},
                        timeout=10).status_code == 200
    assert not access_log.exists()  # the old block logs to the shared file

    drifted = _reconcile(rq_workers.app, "--check-only", "--site", site["id"])
    assert drifted.exit_code == 1, drifted.output
    line = _line_of(drifted.output, "older.example.com")
    assert f"ensure nginx site {block.name}" in line
    assert f"ensure php8.2-fpm pool chom{short}" in line
    assert "older.example.com.log (when missing)" in line

    repaired = _reconcile(rq_workers.app, "--site", site["id"])
    (operation_id,) = re.findall(r"repair operation (\S+) queued", repaired.output)
    operation = account.wait_for_operation(operation_id, timeout=120)
    assert operation["status"] == "succeeded", operation["log"]
    assert block.read_text() == current_block and pool.read_text() == current_pool
    assert _reconcile(rq_workers.app, "--check-only", "--site", site["id"]).exit_code == 0
    # A reload is graceful: old workers (logging to the shared file) may answer a while yet.
    for _ in range(50):
        assert requests.get(host.http_url, headers={"Host": "older.example.com"},
                            timeout=10).status_code == 200
        if '"GET / HTTP/1.1" 200' in access_log.read_text():
            break
        time.sleep(0.1)
    assert '"GET / HTTP/1.1" 200' in access_log.read_text()
    assert php_log.stat().st_uid == int(host.run(["id", "-u", f"chom{short}"]).stdout)
