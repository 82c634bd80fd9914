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


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields after the command name


def cpu_seconds(master: int) -> float:
    """User + system CPU of a gunicorn master and its workers (all their threads)."""
    pids = [master] + [int(entry.name) for entry in Path("/proc").iterdir()
                       if entry.name.isdigit() and (_stat(int(entry.name)) or ["", "", "0"])[1]
                       == str(master)]
    ticks = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


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


def measure_middleware(work: Path, env: dict, wrk: str, duration: int, warmup: int,
                       rounds: int) -> dict:
    """The three variants served side by side (an idle server costs nothing) and measured in
    turns, `rounds` times, so a change in the machine's load falls on all of them; each
    variant's run with the median requests/s is kept."""
    lua = work / "ping.lua"
    lua.write_text(PING_LUA)
    (work / "mp-ping").mkdir()
    variants = {
        "without metrics": ("metrics_apps:plain", {}),
        "with metrics (one process)": ("metrics_apps:measured", {}),
        "with metrics (multiprocess)": ("metrics_apps:measured",
                                        {"PROMETHEUS_MULTIPROC_DIR": str(work / "mp-ping")}),
    }
    servers = {}
    try:
        for name, (ref, extra) in variants.items():
            servers[name] = api_bench.Server(ref, SETTING, {**env, **extra},
                                             work / f"{len(servers)}.log",
                                             extra=["--pythonpath", str(ROOT / "bench")])
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        for server in servers.values():
            _wait(server.url + "/ping", server.proc)
            api_bench.run_wrk(wrk, server.url + "/ping", lua, threads=2, connections=64,
                              seconds=warmup)
        for _ in range(rounds):
            for name, server in servers.items():
                before = cpu_seconds(server.proc.pid)
                found = api_bench.run_wrk(wrk, server.url + "/ping", lua, threads=2,
                                          connections=64, seconds=duration)
                # CPU per request hardly depends on what else the machine runs; req/s does.
                found["cpu_us"] = (cpu_seconds(server.proc.pid) - before) / found["requests"] * 1e6
                runs[name].append(found)
    finally:
        for server in servers.values():
            server.stop()
    return {name: {**sorted(found, key=lambda r: r["rps"])[len(found) // 2],
                   "cpu_us": statistics.median(r["cpu_us"] for r in found)}
            for name, found in runs.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
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

    results = measure_middleware(work, env, wrk, args.duration, args.warmup, args.rounds)
    base = results["without metrics"]["rps"]
    print(f"\nGET /ping, wrk -t2 -c64, {args.rounds} rounds of {args.duration}s in turns (the "
          "median run of each), gunicorn gthread 2x8:")
    base_cpu = results["without metrics"]["cpu_us"]
    print(f"{'variant':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} "
          f"{'CPU us/req':>11} {'CPU ratio':>9}")
    for name, found in results.items():
        if found["non_2xx"] or found["socket_errors"].get("timeout"):
            print(f"  ({name}: {found['non_2xx']} non-2xx, {found['socket_errors']})")
        print(f"{name:32} {found['rps']:>9,.0f} {found['p50_ms']:>8.1f} {found['p99_ms']:>8.1f} "
              f"{found['rps'] / base:>7.1%} {found['cpu_us']:>11.0f} "
              f"{found['cpu_us'] / base_cpu:>9.2f}")
    print(f"\nload average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
