"""Metrics benchmark: the `/prometheus/metrics` scrape with 10,000 sites in the database, and
the request-metrics middleware's overhead on a simple endpoint.

    .venv/bin/python bench/metrics.py [--scrapes 30] [--duration 10] [--warmup 3]

1. Re-creates the PostgreSQL database `chom_bench_metrics` and seeds it as bench/api.py does
   (1,000 tenants x 10 active sites = 10,000 sites, one VPS), serves CHOM with gunicorn
   (2 gthread workers x 8 threads, multiprocess metrics as deployed) and times sequential
   scrapes of `/prometheus/metrics` from one client: median, p95 and max, the body's size and
   its number of samples.
2. Serves `bench/metrics_apps.py` three times under the same gunicorn setting — without
   metrics, with CHOM's request metrics in one-process mode, and with them in multiprocess mode
   (`PROMETHEUS_MULTIPROC_DIR`, as deployed) — and drives `GET /ping` with wrk (`-t2 -c64`, a
   warm-up run, then the measured run) in the same run; prints requests/s, p50/p99 and each
   ratio to the plain app.

Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import api as api_bench  # noqa: E402  (bench/api.py: seeding, gunicorn and wrk helpers)
import flask_migrate  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from chom import create_app  # noqa: E402

DATABASE_URL = os.environ.get(
    "CHOM_BENCH_METRICS_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/chom_bench_metrics",
)
SETTING = api_bench.SETTINGS["gthread"]
PING_LUA = 'request = function() return wrk.format("GET", "/ping") end\n'


def _wait(url: str, proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.25)
    sys.exit(f"bench: {url} did not answer")


def measure_scrapes(work: Path, env: dict, scrapes: int) -> dict:
    (work / "multiproc-chom").mkdir()
    server = api_bench.Server("wsgi:app", SETTING, {
        **env, "PROMETHEUS_MULTIPROC_DIR": str(work / "multiproc-chom")}, work / "chom.log")
    url = server.url + "/prometheus/metrics"
    try:
        _wait(url, server.proc)
        timings, body = [], b""
        for _ in range(scrapes + 2):
            started = time.perf_counter()
            with urllib.request.urlopen(url, timeout=60) as answer:
                body = answer.read()
            timings.append((time.perf_counter() - started) * 1000)
        timings = timings[2:]  # the first scrapes warm each worker's connections
    finally:
        server.stop()
    text = body.decode()
    samples = sum(len(f.samples) for f in text_string_to_metric_families(text))
    sites = sum(s.value for f in text_string_to_metric_families(text)
                for s in f.samples if s.name == "chom_sites")
    return {"median_ms": statistics.median(timings),
            "p95_ms": sorted(timings)[max(0, int(len(timings) * 0.95) - 1)],
            "max_ms": max(timings), "bytes": len(body), "samples": samples, "sites": sites}


def measure_middleware(work: Path, env: dict, wrk: str, duration: int, warmup: int) -> dict:
    lua = work / "ping.lua"
    lua.write_text(PING_LUA)
    variants = {
        "without metrics": ("metrics_apps:plain", {}),
        "with metrics (one process)": ("metrics_apps:measured", {}),
        "with metrics (multiprocess)": ("metrics_apps:measured",
                                        {"PROMETHEUS_MULTIPROC_DIR": str(work / "mp-ping")}),
    }
    (work / "mp-ping").mkdir()
    results = {}
    for name, (ref, extra) in variants.items():
        server = api_bench.Server(ref, SETTING, {**env, **extra}, work / f"{ref}.log",
                                  extra=["--pythonpath", str(ROOT / "bench")])
        try:
            _wait(server.url + "/ping", server.proc)
            api_bench.run_wrk(wrk, server.url + "/ping", lua, threads=2, connections=64,
                              seconds=warmup)
            results[name] = api_bench.run_wrk(wrk, server.url + "/ping", lua, threads=2,
                                              connections=64, seconds=duration)
        finally:
            server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    wrk = api_bench.ensure_wrk()

    api_bench.recreate_database(DATABASE_URL)
    work = Path(tempfile.mkdtemp(prefix="chom-bench-metrics-"))
    keys = Fernet.generate_key().decode()
    app = create_app({"SQLALCHEMY_DATABASE_URI": DATABASE_URL, "CHOM_ENCRYPTION_KEYS": keys,
                      "INSTANCE_PATH": str(work / "instance"), "CHOM_JOB_MODE": "thread",
                      "CHOM_LOAD_PLUGINS": True})
    with app.app_context():
        flask_migrate.upgrade()
    started = time.perf_counter()
    api_bench.seed(app)
    print(f"seeded {api_bench.TENANTS * api_bench.SITES_PER_TENANT:,} sites in "
          f"{time.perf_counter() - started:.1f} s", flush=True)

    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "CHOM_ENCRYPTION_KEYS": keys,
           "CHOM_INSTANCE_PATH": str(work / "instance"), "CHOM_JOB_MODE": "thread",
           "SECRET_KEY": "bench", "METRICS_IP_WHITELIST": "127.0.0.1", "CHOM_LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    print(f"machine: {api_bench.machine()}", flush=True)
    scrape = measure_scrapes(work, env, args.scrapes)
    print(f"\n/prometheus/metrics with {scrape['sites']:,.0f} sites ({args.scrapes} sequential "
          f"scrapes, gunicorn gthread 2x8, multiprocess): median {scrape['median_ms']:.1f} ms, "
          f"p95 {scrape['p95_ms']:.1f} ms, max {scrape['max_ms']:.1f} ms; "
          f"{scrape['bytes']:,} bytes, {scrape['samples']} samples")

    results = measure_middleware(work, env, wrk, args.duration, args.warmup)
    base = results["without metrics"]["rps"]
    print(f"\nGET /ping, wrk -t2 -c64 {args.duration}s, gunicorn gthread 2x8:")
    print(f"{'variant':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}")
    for name, found in results.items():
        if found["non_2xx"] or found["socket_errors"].get("timeout"):
            print(f"  ({name}: {found['non_2xx']} non-2xx, {found['socket_errors']})")
        print(f"{name:32} {found['rps']:>9,.0f} {found['p50_ms']:>8.1f} {found['p99_ms']:>8.1f} "
              f"{found['rps'] / base:>7.1%}")
    print(f"\nload average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
