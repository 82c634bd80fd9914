"""The site list's hot path in one process: where a request's time goes, without gunicorn or wrk.

    .venv/bin/python bench/hotpath.py [--requests 3000] [--tracing] [--profile out.txt]

Seeds the data set of `bench/api.py` (1,000 tenants x 10 sites) into the PostgreSQL database
`chom_bench_hotpath` (or reuses it with `--reuse`), builds the app as `wsgi.py` does (tracing on
with `--tracing`: always_on, OTLP/HTTP to the fake collector of `tests/fakes/otlp.py` in this
process), and calls the WSGI app directly, rotating through 64 tokens, first a warm-up and then
`--requests` measured calls. Prints wall and CPU time per request; `--profile` also writes
cProfile's table of the measured calls. The same for the trivial app of `bench/trivial_app.py`
gives the baseline. Figures, not pass/fail; `bench/api.py` and `bench/tracing.py` are the
benchmarks of record, this is the magnifying glass.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("CHOM_BENCH_DATABASE_URL",
                      "postgresql+psycopg://postgres@127.0.0.1:5432/chom_bench_hotpath")

import api as api_bench  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from chom import create_app  # noqa: E402
from chom.extensions import db  # noqa: E402
from chom.models import ApiToken  # noqa: E402
from chom.services import accounts  # noqa: E402

TOKENS = 64


def seeded_tokens(database_url: str, reuse: bool) -> list[str]:
    """The plain tokens of the first TOKENS tenants, seeding the database unless reused (a
    reused database gets fresh tokens for those tenants: plain values are never stored)."""
    config = {"SECRET_KEY": "seed", "CHOM_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
              "CHOM_JOB_MODE": "thread", "REDIS_URL": None,
              "RATELIMIT_STORAGE_URI": "memory://"}
    if not reuse:
        return api_bench.seed(api_bench.migrated_app(database_url, config))[:TOKENS]
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": database_url})
    plains = []
    with app.app_context():
        tokens = db.session.scalars(
            db.select(ApiToken).order_by(ApiToken.created_at).limit(TOKENS)).all()
        for token in tokens:
            plain = accounts.TOKEN_PREFIX + secrets.token_urlsafe(32)
            token.token_hash, token.prefix = accounts._token_digest(plain), plain[:12]
            plains.append(plain)
        db.session.commit()
        db.engine.dispose()
    return plains


def call(app, environ: dict) -> int:
    """One request through the WSGI interface, body read and closed as a server would."""
    status = []
    body = app(dict(environ, **{"wsgi.input": io.BytesIO()}),
               lambda s, headers, exc_info=None: status.append(s))
    try:
        for _ in body:
            pass
    finally:
        getattr(body, "close", lambda: None)()
    return int(status[0][:3])


def measure(app, environs: list[dict], count: int, profile: Path | None) -> tuple[float, float]:
    """Wall and CPU milliseconds per request over `count` calls."""
    profiler = cProfile.Profile() if profile else None
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for i in range(count):
        status = call(app, environs[i % len(environs)])
        if status != 200:
            sys.exit(f"bench: answered {status}")
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(80)
        stats.sort_stats("tottime").print_stats(60)
        profile.write_text(out.getvalue())
    return wall * 1000 / count, cpu * 1000 / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--tracing", action="store_true", help="always_on, to a local receiver")
    parser.add_argument("--profile", type=Path, help="write cProfile's tables here")
    args = parser.parse_args()

    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        del os.environ[name]
    database_url = api_bench.DATABASE_URL
    tokens = seeded_tokens(database_url, args.reuse)
    collector = None
    if args.tracing:
        from tests.fakes.otlp import OtlpCollector

        collector = OtlpCollector(keep_spans=False)
        os.environ.update(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
                          OTEL_TRACES_SAMPLER="always_on", OTEL_SERVICE_NAME="chom-bench")
    os.environ.update(DATABASE_URL=database_url, SECRET_KEY=secrets.token_hex(16),
                      CHOM_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
                      CHOM_JOB_MODE="thread", CHOM_RATE_LIMIT_API="1000000/minute",
                      REDIS_URL="")
    import trivial_app

    app = create_app()
    environs = [EnvironBuilder(path=api_bench.PATH,
                               headers={"Authorization": f"Bearer {t}"}).get_environ()
                for t in tokens]
    trivial_environ = [EnvironBuilder(path=api_bench.PATH).get_environ()]
    try:
        measure(trivial_app.app, trivial_environ, args.warmup, None)
        trivial_wall, trivial_cpu = measure(trivial_app.app, trivial_environ, args.requests, None)
        measure(app, environs, args.warmup, None)
        wall, cpu = measure(app, environs, args.requests, args.profile)
    finally:
        if collector is not None:
            from chom import tracing

            tracing.shutdown()
            collector.stop()
    print(f"GET {api_bench.PATH} in process, {args.requests} requests over {len(tokens)} "
          f"tokens, tracing {'on' if args.tracing else 'off'}")
    print(f"  sites:   {wall:.3f} ms wall, {cpu:.3f} ms CPU per request")
    print(f"  trivial: {trivial_wall:.3f} ms wall, {trivial_cpu:.3f} ms CPU per request")
    if collector is not None:
        print(f"  spans received: {collector.span_count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
