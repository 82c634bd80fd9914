"""Several processes, one picture: multiprocess mode (PROMETHEUS_MULTIPROC_DIR) and gunicorn.

prometheus_client picks its storage when it is imported, so every app here that runs in
multiprocess mode runs in a process of its own, started with the variable already set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.fernet import Fernet

from tests.conftest import TEST_DATABASE_URL
from tests.observability.conftest import value

ROOT = Path(__file__).resolve().parents[2]
RULE = "/api/v1/sites/<site_id>"

# role, instance folder, count. Builds an app as the tests do, in a fresh interpreter.
SCRIPT = r"""
import json, sys, uuid
from chom import create_app
from tests.conftest import base_config

role, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
if role == "requests":
    client = create_app(base_config(__import__("pathlib").Path(folder))).test_client()
    for _ in range(count):
        assert client.get(f"/api/v1/sites/{uuid.uuid4()}").status_code == 401
elif role == "scrape":
    client = create_app(base_config(__import__("pathlib").Path(folder))).test_client()
    response = client.get("/prometheus/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200, response.status_code
    sys.stdout.write(response.get_data(as_text=True))
elif role == "rate-limits":
    # Application-wide and default limits set, as an operator might: the scrape is exempt.
    limited = base_config(__import__("pathlib").Path(folder), RATELIMIT_APPLICATION="2/minute",
                          RATELIMIT_DEFAULT="2/minute")
    client = create_app(limited).test_client()
    control = [client.get("/login").status_code for _ in range(count)]
    scrapes = [client.get("/prometheus/metrics",
                          environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code
               for _ in range(count)]
    sys.stdout.write(json.dumps({"control": control, "scrapes": scrapes}))
"""


def _run(role: str, folder: Path, count: int, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, role, str(folder), str(count)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def test_counts_of_separate_processes_add_up(clean_app, tmp_path):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = _env(PROMETHEUS_MULTIPROC_DIR=str(shared))
    _run("requests", tmp_path / "a", 3, env)
    _run("requests", tmp_path / "b", 4, env)
    text = _run("scrape", tmp_path / "c", 0, env)
    assert value(text, "chom_http_request_total", method="GET", status="401") == 7
    assert value(text, "chom_http_request_duration_seconds_count",
                 method="GET", status="401", url_rule=RULE) == 7
    # Business metrics are still there in multiprocess mode.
    assert value(text, "chom_metrics_source_up", source="database") == 1
    assert len(list(shared.glob("counter_*.db"))) >= 2  # one file per process that counted


def test_rate_limits_never_apply_to_the_scrape(clean_app, tmp_path):
    # In a process of its own: the limiter is one object per process, and limits set on it
    # stay for every app built after.
    outcome = json.loads(_run("rate-limits", tmp_path / "a", 5, _env()))
    assert 429 in outcome["control"], outcome  # the limits are in force
    assert outcome["scrapes"] == [200] * 5, outcome


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_gunicorn_with_two_workers_reports_every_request_on_every_scrape(clean_app, tmp_path):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "counter_999999.db").write_bytes(b"")  # a stale file: the start hook removes it
    port = _free_port()
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(
        f'bind = "127.0.0.1:{port}"\nworkers = 2\ntimeout = 30\ngraceful_timeout = 5\n'
        "from chom.observability.gunicorn_hooks import child_exit, on_starting  # noqa\n"
    )
    env = _env(
        PROMETHEUS_MULTIPROC_DIR=str(shared),
        DATABASE_URL=TEST_DATABASE_URL,
        CHOM_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="test-secret",
        CHOM_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        CHOM_JOB_MODE="thread",
        REDIS_URL="",
        CHOM_RATE_LIMIT_API="100000/minute",
        METRICS_IP_WHITELIST="127.0.0.1",
        CHOM_LOCAL_VPS_ROOT=str(tmp_path / "local-vps"),
    )
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(conf), "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
            try:
                if _get(f"{base}/prometheus/metrics", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()[-3000:]
            time.sleep(0.2)
        assert not (shared / "counter_999999.db").exists()

        total = 40
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(
                lambda _: _get(f"{base}/api/v1/sites/{uuid.uuid4()}")[0], range(total)))
        assert statuses == [401] * total

        # Whichever worker answers a scrape, it reports all the requests of both.
        for _ in range(6):
            status, text = _get(f"{base}/prometheus/metrics")
            assert status == 200
            assert value(text, "chom_http_request_total", method="GET", status="401") == total
            assert value(text, "chom_http_request_duration_seconds_count",
                         method="GET", status="401", url_rule=RULE) == total
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
