"""Real Prometheus, Alertmanager and node exporter (Debian's packages) for the tests, each on a
free 127.0.0.1 port with its own config and data directory, plus the Loki and Grafana fakes.

Prometheus scrapes the node exporter (labelled `vps`) live; per-site nginx series are
backfilled with `promtool tsdb create-blocks-from openmetrics` before it starts, so queries
about them have known answers (see `NGINX_SITES`).
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.fakes.grafana import FakeGrafana
from tests.fakes.loki import FakeLoki

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
VPS_NAME = "vps-obs-1"

# domain -> (requests per second answered 2xx, answered 5xx); every request takes 50-100 ms.
NGINX_SITES = {"site-a.example.com": (0.8, 0.2), "site-b.example.com": (3.0, 0.0)}
BACKFILL_STEP = 15  # seconds between backfilled samples
BACKFILL_SPAN = (50 * 60, 60)  # from 50 minutes ago to 1 minute ago
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0)
EXPECTED_P95 = 0.05 + 0.95 * (0.1 - 0.05)  # every request in the (0.05, 0.1] bucket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready at {url}")


def nginx_openmetrics(now: float) -> str:
    """Counters and a latency histogram per site host, as nginx-vts-exporter exposes them."""
    first, last = now - BACKFILL_SPAN[0], now - BACKFILL_SPAN[1]
    times = [first + i * BACKFILL_STEP for i in range(int((last - first) // BACKFILL_STEP) + 1)]
    lines = ["# HELP nginx_vts_server_requests Requests by host and status class",
             "# TYPE nginx_vts_server_requests counter"]
    for host, (ok, failed) in NGINX_SITES.items():
        for code, rate in (("2xx", ok), ("5xx", failed), ("total", ok + failed)):
            lines += [f'nginx_vts_server_requests_total{{host="{host}",code="{code}"}} '
                      f"{rate * (t - first):.3f} {t:.3f}" for t in times]
    lines += ["# HELP nginx_vts_server_request_duration_seconds Request duration by host",
              "# TYPE nginx_vts_server_request_duration_seconds histogram"]
    for host, (ok, failed) in NGINX_SITES.items():
        rate = ok + failed
        for bound in (*LATENCY_BUCKETS, "+Inf"):
            inside = 0.0 if bound == 0.05 else 1.0
            le = bound if isinstance(bound, str) else repr(float(bound))
            lines += [f'nginx_vts_server_request_duration_seconds_bucket{{host="{host}",'
                      f'le="{le}"}} {inside * rate * (t - first):.3f} {t:.3f}' for t in times]
        lines += [f'nginx_vts_server_request_duration_seconds_count{{host="{host}"}} '
                  f"{rate * (t - first):.3f} {t:.3f}" for t in times]
        lines += [f'nginx_vts_server_request_duration_seconds_sum{{host="{host}"}} '
                  f"{0.075 * rate * (t - first):.3f} {t:.3f}" for t in times]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@dataclass
class Daemon:
    """One server process, restartable on the same port with the same data."""

    name: str
    argv: list[str]
    ready_url: str
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> Daemon:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)
        wait_until_ready(self.ready_url, self.process, self.name)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def node_exporter(root: Path) -> tuple[Daemon, str]:
    port = free_port()
    daemon = Daemon("node exporter", [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
                    f"http://127.0.0.1:{port}/metrics", root / "node-exporter.log")
    return daemon, f"127.0.0.1:{port}"


def prometheus(root: Path, node_target: str, now: float) -> Daemon:
    """A Prometheus whose data directory holds the backfilled nginx series."""
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    if not data.exists():
        data.mkdir()
        metrics = root / "nginx.om"
        metrics.write_text(nginx_openmetrics(now))
        subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(metrics),
                        str(data)], check=True, capture_output=True)
    config = root / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 2s
  evaluation_interval: 1m
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["{node_target}"]
        labels:
          vps: "{VPS_NAME}"
""")
    port = free_port()
    return Daemon("prometheus", [
        PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
    ], f"http://127.0.0.1:{port}/-/ready", root / "prometheus.log")


def alertmanager(root: Path) -> Daemon:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "alertmanager.yml"
    config.write_text("""
route:
  receiver: "null"
receivers:
  - name: "null"
""")
    port = free_port()
    return Daemon("alertmanager", [
        ALERTMANAGER, f"--config.file={config}", f"--storage.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
        "--log.level=warn",
    ], f"http://127.0.0.1:{port}/-/ready", root / "alertmanager.log")


def url_of(daemon: Daemon) -> str:
    return daemon.ready_url.rsplit("/-/", 1)[0]


@dataclass
class Stack:
    root: Path
    node: Daemon
    prometheus: Daemon
    alertmanager: Daemon
    loki: FakeLoki
    grafana: FakeGrafana
    #: (first, last) unix time of the backfilled nginx samples
    backfilled: tuple[float, float] = (0.0, 0.0)

    @property
    def config(self) -> dict:
        """The app settings that point CHOM at this stack."""
        return {"PROMETHEUS_URL": url_of(self.prometheus),
                "ALERTMANAGER_URL": url_of(self.alertmanager), "LOKI_URL": self.loki.url,
                "GRAFANA_URL": self.grafana.url, "GRAFANA_TOKEN": self.grafana.token}

    def stop(self) -> None:
        for daemon in (self.prometheus, self.alertmanager, self.node):
            daemon.stop()
        self.loki.stop()
        self.grafana.stop()


def start_stack(root: Path) -> Stack:
    now = time.time()
    node, node_target = node_exporter(root)
    node.start()
    stack = Stack(root, node, prometheus(root / "prometheus", node_target, now),
                  alertmanager(root / "alertmanager"), FakeLoki().start(),
                  FakeGrafana().start(),
                  backfilled=(now - BACKFILL_SPAN[0], now - BACKFILL_SPAN[1]))
    try:
        stack.prometheus.start()
        stack.alertmanager.start()
    except Exception:
        stack.stop()
        raise
    return stack


def reset_backend_state() -> None:
    """Close every backend breaker and forget cached answers (state shared in Redis)."""
    import redis

    from tests.conftest import TEST_REDIS_URL

    connection = redis.Redis.from_url(TEST_REDIS_URL)
    for pattern in ("chom:breaker:backend:*", "chom:degraded:*"):
        for key in connection.scan_iter(pattern):
            connection.delete(key)
