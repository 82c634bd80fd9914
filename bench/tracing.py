"""Tracing benchmark: `GET /api/v1/sites` with tracing off, then on, in the same run.

    .venv/bin/python bench/tracing.py [--duration 15] [--warmup 3] [--rounds 2]

Seeds the same data as `bench/api.py` (1,000 tenants x 10 sites) into the PostgreSQL database
`chom_bench_tracing` (dropped and re-created; `CHOM_BENCH_DATABASE_URL` to change it), then
serves CHOM with gunicorn (2 gthread workers x 8 threads, as deployed; `--settings sync`: 2 sync
workers) and drives the authenticated site list
with wrk at 64 connections, alternating: tracing off (no `OTEL_*` variable), tracing on
(`OTEL_EXPORTER_OTLP_ENDPOINT` pointing at the fake OTLP/HTTP collector of `tests/fakes/otlp.py`,
running in this process on a free loopback port and decoding every request's protobuf;
`OTEL_TRACES_SAMPLER=always_on`, the batch processor's defaults), and on with
`parentbased_traceidratio` at `--ratio` (default 0.1). Prints requests/s, p50 and
p99 of each run, the gunicorn workers' CPU per request (from /proc: steadier than req/s on a
shared machine), the spans the collector received, and the ratios on / off (mean of the rounds).

Figures, not pass/fail: the goal is that tracing on costs at most 15 % of throughput.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("CHOM_BENCH_DATABASE_URL",
                      "postgresql+psycopg://postgres@127.0.0.1:5432/chom_bench_tracing")

import api as api_bench  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from tests.fakes.otlp import OtlpCollector  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per run")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--settings", default="gthread", choices=sorted(api_bench.SETTINGS),
                        help="gunicorn workers (gthread as deployed: deploy/systemd)")
    parser.add_argument("--ratio", type=float, default=0.1,
                        help="also run with parentbased_traceidratio at this ratio (0: don't)")
    args = parser.parse_args()
    setting = api_bench.SETTINGS[args.settings]

    wrk = api_bench.ensure_wrk()
    print(f"machine: {api_bench.machine()}", flush=True)
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        del os.environ[name]  # the seeding app is never traced
    database_url = api_bench.DATABASE_URL
    secret_key, fernet_key = secrets.token_hex(32), Fernet.generate_key().decode()
    app = api_bench.migrated_app(database_url, {
        "SECRET_KEY": secret_key, "CHOM_ENCRYPTION_KEYS": fernet_key, "CHOM_JOB_MODE": "thread",
        "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://"})
    tokens = api_bench.seed(app)[: args.connections]
    work = Path(tempfile.mkdtemp(prefix="chom-bench-tracing-"))
    lua = api_bench.write_lua(work, tokens, args.threads)

    collector = OtlpCollector(keep_spans=False)
    base_env = {
        **os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret_key,
        "CHOM_ENCRYPTION_KEYS": fernet_key, "CHOM_JOB_MODE": "thread",
        "CHOM_RATE_LIMIT_API": "1000000/minute", "REDIS_URL": "",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    modes = {
        "off": base_env,
        "on": {**base_env, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
               "OTEL_TRACES_SAMPLER": "always_on", "OTEL_SERVICE_NAME": "chom-bench"},
    }
    if args.ratio:
        modes["ratio"] = {**modes["on"], "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                          "OTEL_TRACES_SAMPLER_ARG": str(args.ratio)}
    results: dict[str, list[dict]] = {mode: [] for mode in modes}
    try:
        for round_number in range(1, args.rounds + 1):
            for mode, env in modes.items():
                received_before = collector.span_count
                server = api_bench.Server("wsgi:app", setting, env,
                                          work / f"{mode}{round_number}.log")
                try:
                    server.wait_ready(tokens[0], api_bench.check_real)
                    if args.warmup:
                        api_bench.run_wrk(wrk, server.url + api_bench.PATH, lua,
                                          threads=args.threads, connections=args.connections,
                                          seconds=args.warmup)
                    r = api_bench.run_wrk_on(server, wrk, lua, threads=args.threads,
                                             connections=args.connections,
                                             seconds=args.duration)
                finally:
                    server.stop()  # a clean stop flushes the batch processor
                time.sleep(0.5)
                r["spans"] = collector.span_count - received_before
                results[mode].append(r)
                print(f"  round {round_number} tracing {mode:5} {r['rps']:8.0f} req/s  "
                      f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                      f"worker CPU {r['cpu_ms']:5.2f} ms/request  non-2xx {r['non_2xx']}  "
                      f"spans received {r['spans']}", flush=True)
                if r["non_2xx"]:
                    sys.exit(f"bench: tracing {mode} answered {r['non_2xx']} non-2xx responses")
    finally:
        collector.stop()

    off = statistics.mean(r["rps"] for r in results["off"])
    on = statistics.mean(r["rps"] for r in results["on"])
    cpu_off = statistics.mean(r["cpu_ms"] for r in results["off"])
    cpu_on = statistics.mean(r["cpu_ms"] for r in results["on"])
    print()
    print(f"GET {api_bench.PATH}, gunicorn {' '.join(setting)}, wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s, {args.rounds} round(s)")
    print(f"  tracing off {off:8.0f} req/s (mean)")
    print(f"  tracing on  {on:8.0f} req/s (mean; always_on, OTLP/HTTP to the local receiver)")
    print(f"  on / off = {on / off:.1%}  (cost {1 - on / off:.1%}; goal: cost <= 15 %)")
    print(f"  gunicorn workers' CPU per request: off {cpu_off:.2f} ms, on {cpu_on:.2f} ms "
          f"(+{cpu_on / cpu_off - 1:.1%}; throughput bound by CPU would be "
          f"{cpu_off / cpu_on:.1%} of off)")
    if args.ratio:
        ratio_rps = statistics.mean(r["rps"] for r in results["ratio"])
        ratio_cpu = statistics.mean(r["cpu_ms"] for r in results["ratio"])
        print(f"  sampled {args.ratio:.0%} (parentbased_traceidratio): {ratio_rps:.0f} req/s, "
              f"{ratio_rps / off:.1%} of off; CPU {ratio_cpu:.2f} ms/request "
              f"(+{ratio_cpu / cpu_off - 1:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
