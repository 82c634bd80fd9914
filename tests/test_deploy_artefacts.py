"""The deployment artefacts are valid for the tools that read them: promtool (config, rules
and the rules' unit tests), amtool, nginx -t, gunicorn --check-config; the dashboards and the
compose file parse, and every file a config names exists."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from chom import PROJECT_ROOT
from chom.services.site_profile import DEFAULT_PROFILE, paths_for

STACK = PROJECT_ROOT / "deploy" / "observability-stack"
DEPLOY = PROJECT_ROOT / "deploy"


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    found = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    assert found.returncode == 0, found.stdout + found.stderr
    return found


def test_promtool_checks_the_prometheus_config():
    out = run(["promtool", "check", "config", str(STACK / "prometheus.yml")]).stdout
    assert "SUCCESS" in out and "WARNING" not in out


def test_promtool_checks_the_rules_and_their_unit_tests():
    rules = sorted((STACK / "rules").glob("*.yml"))
    assert rules
    run(["promtool", "check", "rules", *map(str, rules)])
    run(["promtool", "test", "rules", str(STACK / "rule-tests" / "chom_test.yml")])
    names = {rule["alert"] for path in rules for group in yaml.safe_load(path.read_text())["groups"]
             for rule in group["rules"]}
    assert {"SiteDown", "SslExpiring", "DiskFilling", "QueueBackingUp",
            "CircuitBreakerOpen"} <= names


def test_amtool_checks_the_alertmanager_config():
    run(["amtool", "check-config", str(STACK / "alertmanager.yml")])


def test_dashboards_and_compose_parse():
    dashboards = sorted((STACK / "grafana" / "dashboards").glob("*.json"))
    assert len(dashboards) >= 2
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["panels"]
        assert all(target["expr"] for panel in dashboard["panels"]
                   for target in panel["targets"])
    compose = yaml.safe_load((STACK / "compose.yml").read_text())
    assert {"prometheus", "alertmanager", "grafana", "loki", "promtail"} <= set(
        compose["services"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (STACK / source).exists(), source
    for name in ("loki.yml", "promtail.yml", "blackbox.yml"):
        assert yaml.safe_load((STACK / name).read_text())
    for included in compose.get("include", []):  # Jaeger, in a file of its own
        assert "jaeger" in yaml.safe_load((STACK / included).read_text())["services"]


@pytest.fixture
def self_signed(tmp_path) -> tuple[Path, Path]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=chom.example.com", "-keyout", str(key), "-out", str(cert)])
    return cert, key


def test_nginx_accepts_the_control_plane_site(tmp_path, self_signed):
    cert, key = self_signed
    site = (DEPLOY / "nginx" / "chom.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/chom.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/chom.example.com/privkey.pem", str(key))
    (tmp_path / "chom.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    include {tmp_path}/chom.conf;
}}
""")
    run(["/usr/sbin/nginx", "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])


def test_gunicorn_loads_its_config_and_the_app(tmp_path):
    env = {**os.environ, "CHOM_INSTANCE_PATH": str(tmp_path / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'chom.sqlite3'}", "CHOM_JOB_MODE": "thread",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    env.pop("REDIS_URL", None)
    (tmp_path / "metrics").mkdir()
    run([str(Path(sys.executable).parent / "gunicorn"), "--check-config",
         "--config", str(DEPLOY / "systemd" / "gunicorn.conf.py"), "wsgi:app"],
        cwd=PROJECT_ROOT, env=env)


def test_systemd_units_run_the_apps_commands():
    units = {path.name: path.read_text() for path in (DEPLOY / "systemd").glob("chom-*")}
    assert {"chom-web.service", "chom-worker@.service", "chom-scheduler.service"} <= set(units)
    assert "PROMETHEUS_MULTIPROC_DIR=/run/chom-metrics" in units["chom-web.service"]
    assert "gunicorn --config /opt/chom/deploy/systemd/gunicorn.conf.py wsgi:app" in units[
        "chom-web.service"]
    assert "flask chom worker" in units["chom-worker@.service"]
    assert "flask chom scheduler" in units["chom-scheduler.service"]
    for name, text in units.items():
        if name.endswith(".service"):
            assert "[Service]" in text and "[Install]" in text, name


def test_promtail_labels_each_sites_nginx_logs_by_the_sites_own_files():
    """The paths a site's server block logs to are the ones Promtail reads, and the `host`
    label it takes from their names is the site's domain."""
    jobs = {job["job_name"]: job for job in
            yaml.safe_load((STACK / "promtail.yml").read_text())["scrape_configs"]}
    paths = paths_for(uuid.uuid4(), "shop.example.co.uk", DEFAULT_PROFILE)
    for job, path in (("nginx_access", paths.access_log), ("nginx_error", paths.error_log),
                      ("php_fpm", paths.php_error_log)):
        config = jobs[job]
        assert fnmatch.fnmatch(path, config["static_configs"][0]["labels"]["__path__"]), job
        stage = config["pipeline_stages"][0]["regex"]
        assert stage["source"] == "filename"
        assert re.search(stage["expression"], path).group("host") == "shop.example.co.uk"
        for other in {paths.access_log, paths.error_log, paths.php_error_log} - {path}:
            assert not fnmatch.fnmatch(other, config["static_configs"][0]["labels"]["__path__"])
