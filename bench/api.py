"""API benchmark: `GET /api/v1/sites` against a trivial Flask endpoint, same gunicorn, same load.

    .venv/bin/python bench/api.py [--duration 15] [--warmup 3] [--connections 64]

1. Drops and re-creates the PostgreSQL database `chom_bench` (postgres@127.0.0.1:5432, trust
   auth), builds the schema with the migrations, and bulk-seeds 1,000 organizations, each with
   one tenant, one owner, one membership, one subscription and one API token, one VPS, and
   10,000 active sites (10 per tenant).
2. For each gunicorn setting (2 gthread workers x 8 threads; 2 sync workers), serves CHOM and
   then `bench/trivial_app.py` on free loopback ports and drives each with wrk (`-t2 -c64
   --latency`, a warm-up run first, then the measured run). Every request carries a bearer
   token; the 64 tokens (64 tenants) are spread over the connections by `wrk` Lua hooks: each
   wrk thread owns connections/threads tokens and its requests rotate through them.
3. Prints requests/s, p50 and p99 of both, and the ratio real / trivial; the setting reported
   is the one under which the REAL app did best (the trivial app is measured under it too).
   A third server, `bench/chom_floor_app.py` (CHOM with the list's view swapped for the trivial
   one), shows what CHOM's hooks and authentication cost before any work of the endpoint.

Figures, not pass/fail: the goal is a ratio >= 50%. Exit status is 0 unless the benchmark
itself could not run (a server did not start, wrk missing and not installable, non-2xx
answers). wrk is installed from Debian (`apt-get install wrk`) when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from chom import create_app  # noqa: E402
from chom.extensions import db  # noqa: E402
from chom.models import (  # noqa: E402
    ApiToken,
    Membership,
    Organization,
    Site,
    Subscription,
    Tenant,
    User,
    VpsServer,
)
from chom.models.base import utcnow  # noqa: E402
from chom.services import accounts  # noqa: E402

DATABASE_URL = os.environ.get(
    "CHOM_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/chom_bench"
)
TENANTS = 1_000
SITES_PER_TENANT = 10
PATH = "/api/v1/sites"
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SETTINGS = {
    "gthread": ["--workers", "2", "--worker-class", "gthread", "--threads", "8"],
    "sync": ["--workers", "2", "--worker-class", "sync"],
}


# --- wrk ----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it from Debian (apt-get install -y wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(install, env=env, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: wrk could not be installed")
    return found


LUA = """\
-- One token per connection slot: thread t owns tokens [t*n+1 .. t*n+n] and rotates through
-- them, so 64 distinct tenants are served all along (wrk does not expose connection ids).
local tokens = {%(tokens)s}
local per_thread = %(per_thread)d
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

local requests, counter = {}, 0

function init(args)
  for i = 1, per_thread do
    local token = tokens[tid * per_thread + i]
    requests[i] = wrk.format("GET", "%(path)s", {["Authorization"] = "Bearer " .. token})
  end
end

function request()
  counter = counter + 1
  return requests[(counter %% per_thread) + 1]
end
"""


def write_lua(directory: Path, tokens: list[str], threads: int) -> Path:
    per_thread = len(tokens) // threads
    script = directory / "tokens.lua"
    script.write_text(LUA % {
        "tokens": ", ".join(f'"{t}"' for t in tokens),
        "per_thread": per_thread,
        "path": PATH,
    })
    return script


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def run_wrk(wrk: str, url: str, lua: Path, *, threads: int, connections: int,
            seconds: int) -> dict:
    out = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "--timeout", "10s", "-s", str(lua), url],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout
    result = {"raw": out}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        result[f"p{pct}_ms"] = float(m.group(1)) * _UNITS[m.group(2)]
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                       map(int, m.groups()), strict=True)) if m else {}
    return result


TICKS = os.sysconf("SC_CLK_TCK")


def workers_cpu_seconds(master_pid: int) -> float:
    """User + system CPU of gunicorn's workers (the master's children), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def run_wrk_on(server: Server, wrk: str, lua: Path, *, threads: int, connections: int,
               seconds: int) -> dict:
    """`run_wrk` against `server`, adding the workers' CPU per request (`cpu_ms`): steadier
    than req/s on a machine whose speed swings from run to run."""
    before = workers_cpu_seconds(server.proc.pid)
    result = run_wrk(wrk, server.url + PATH, lua, threads=threads, connections=connections,
                     seconds=seconds)
    result["cpu_ms"] = (workers_cpu_seconds(server.proc.pid) - before) * 1000 \
        / result["requests"]
    return result


# --- database -----------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def migrated_app(database_url: str, app_config: dict):
    """Drop and re-create `database_url`, build its schema with the migrations, and return the
    app made for it (to `seed`); its engine is disposed, so nothing stays connected."""
    recreate_database(database_url)
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return app


def seed(app) -> list[str]:
    """Bulk-insert the fleet and the tenants; return the plain API tokens, tenant by tenant."""
    start = utcnow() - timedelta(days=30)
    with app.app_context():
        password_hash = accounts.hash_password(secrets.token_urlsafe(16))  # one hash, shared
    orgs, tenants, users, memberships, subscriptions, tokens, sites = [], [], [], [], [], [], []
    plains = []
    vps_id = uuid.uuid4()
    for i in range(TENANTS):
        at = start + timedelta(seconds=i)
        org_id, tenant_id, user_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        stamps = {"created_at": at, "updated_at": at}
        orgs.append({"id": org_id, "name": f"Org {i}", "require_two_factor": False, **stamps})
        tenants.append({"id": tenant_id, "organization_id": org_id, "name": f"Tenant {i}",
                        "plan": "pro", "status": "active", "trial_ends_at": None, **stamps})
        users.append({"id": user_id, "email": f"owner{i}@bench.example", "name": f"Owner {i}",
                      "password_hash": password_hash, "is_operator": False, "is_active": True,
                      "session_generation": 0, **stamps})
        memberships.append({"id": uuid.uuid4(), "organization_id": org_id, "user_id": user_id,
                            "role": "owner", "all_tenants": True, **stamps})
        subscriptions.append({"id": uuid.uuid4(), "organization_id": org_id,
                              "status": "active", "cancel_at_period_end": False, **stamps})
        # As accounts._new_token makes them: "chom_" + urlsafe random, SHA-256 hex at rest.
        plain = accounts.TOKEN_PREFIX + secrets.token_urlsafe(32)
        plains.append(plain)
        tokens.append({"id": uuid.uuid4(), "user_id": user_id, "organization_id": org_id,
                       "name": "bench", "token_hash": accounts._token_digest(plain),
                       "prefix": plain[:12], "abilities": ["*"], "expires_at": None,
                       "last_used_at": None, "revoked_at": None, **stamps})
        for j in range(SITES_PER_TENANT):
            made = at + timedelta(milliseconds=j)
            sites.append({"id": uuid.uuid4(), "tenant_id": tenant_id,
                          "domain": f"site{j}.tenant{i}.bench.example", "type": "html",
                          "status": "active", "php_version": None, "options": {},
                          "vps_id": vps_id, "ssl_enabled": True,
                          "ssl_expires_at": made + timedelta(days=90),
                          "db_password_encrypted": None, "deleted_at": None,
                          "created_at": made, "updated_at": made})
    vps = {"id": vps_id, "name": "bench-vps-1", "host": "127.0.0.1", "port": 22,
           "ssh_user": "chom", "transport": "local", "capacity": 100_000, "kind": "shared",
           "status": "active", "settings": {}, "created_at": start, "updated_at": start}
    with app.app_context():
        session = db.session
        session.execute(insert(VpsServer.__table__), [vps])
        for model, rows in ((Organization, orgs), (Tenant, tenants), (User, users),
                            (Membership, memberships), (Subscription, subscriptions),
                            (ApiToken, tokens), (Site, sites)):
            session.execute(insert(model.__table__), rows)
        session.commit()
        session.execute(db.text("ANALYZE"))
        session.commit()
        db.engine.dispose()
    return plains


# --- gunicorn -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, app_ref: str, setting: list[str], env: dict, log: Path,
                 extra: list[str] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [GUNICORN, "--bind", f"127.0.0.1:{self.port}", *setting, "--chdir", str(ROOT),
             "--log-level", "warning", "--error-logfile", str(log), *extra, app_ref],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, token: str, check, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                req = urllib.request.Request(self.url + PATH,
                                             headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(req, timeout=5) as answer:
                    check(answer.status, json.loads(answer.read()))
                    return
            except Exception as error:  # noqa: BLE001 - not up yet
                last = error
                time.sleep(0.25)
        self.stop()
        tail = self.log.read_text()[-3000:] if self.log.exists() else ""
        sys.exit(f"bench: server {self.url} did not answer: {last!r}\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def check_real(status: int, body: dict) -> None:
    assert status == 200, status
    assert body["meta"]["total"] == SITES_PER_TENANT, body["meta"]
    assert len(body["data"]) == SITES_PER_TENANT, len(body["data"])
    assert body["data"][0]["vps"]["name"] == "bench-vps-1", body["data"][0]


def check_trivial(status: int, body: dict) -> None:
    assert status == 200, status


# --- main ---------------------------------------------------------------------------------------


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({model or platform.machine()}), load average {load}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--settings", default="gthread,sync",
                        help="gunicorn settings to try, of: " + ", ".join(SETTINGS))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep-serving", action="store_true",
                        help="after seeding, serve CHOM (first setting) until ^C (profiling)")
    args = parser.parse_args()
    if args.connections % args.threads:
        parser.error("--connections must be a multiple of --threads")
    chosen = [s.strip() for s in args.settings.split(",") if s.strip()]
    for name in chosen:
        if name not in SETTINGS:
            parser.error(f"unknown setting {name!r}")

    wrk = ensure_wrk()
    print(f"machine: {machine()}", flush=True)

    secret_key = secrets.token_hex(32)
    fernet_key = Fernet.generate_key().decode()
    app_config = {
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
        "SECRET_KEY": secret_key,
        "CHOM_ENCRYPTION_KEYS": fernet_key,
        "CHOM_JOB_MODE": "thread",
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    t0 = time.perf_counter()
    app = migrated_app(DATABASE_URL, app_config)
    t1 = time.perf_counter()
    plains = seed(app)
    t2 = time.perf_counter()
    print(f"schema: {t1 - t0:.1f} s; seed ({TENANTS} tenants, {TENANTS * SITES_PER_TENANT} "
          f"sites): {t2 - t1:.1f} s", flush=True)

    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": secret_key,
        "CHOM_ENCRYPTION_KEYS": fernet_key,
        "CHOM_JOB_MODE": "thread",
        "CHOM_RATE_LIMIT_API": "1000000/minute",
        "REDIS_URL": "",  # rate limits in memory, per worker; no RQ
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    tokens = plains[: args.connections]
    work = Path(tempfile.mkdtemp(prefix="chom-bench-"))
    lua = write_lua(work, tokens, args.threads)

    if args.keep_serving:
        server = Server("wsgi:app", SETTINGS[chosen[0]], env, work / "real.log")
        server.wait_ready(tokens[0], check_real)
        print(f"serving {server.url}{PATH} (pid {server.proc.pid}); lua: {lua}; ^C to stop",
              flush=True)
        def interrupt(*_):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)
        signal.signal(signal.SIGINT, interrupt)  # also when started in the background
        try:
            server.proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return 0

    results: dict[str, dict[str, dict]] = {}
    for name in chosen:
        results[name] = {}
        for kind, ref, extra, check in (
            ("real", "wsgi:app", [], check_real),
            ("trivial", "trivial_app:app", ["--pythonpath", str(ROOT / "bench")],
             check_trivial),
            ("floor", "chom_floor_app:app", ["--pythonpath", str(ROOT / "bench")],
             check_trivial),
        ):
            server = Server(ref, SETTINGS[name], env, work / f"{name}-{kind}.log", extra)
            try:
                server.wait_ready(tokens[0], check)
                url = server.url + PATH
                if args.warmup:
                    run_wrk(wrk, url, lua, threads=args.threads,
                            connections=args.connections, seconds=args.warmup)
                r = run_wrk_on(server, wrk, lua, threads=args.threads,
                               connections=args.connections, seconds=args.duration)
            finally:
                server.stop()
            results[name][kind] = r
            print(f"  {name:8} {kind:8} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:7.2f} ms  "
                  f"p99 {r['p99_ms']:7.2f} ms  worker CPU {r['cpu_ms']:5.2f} ms/request  "
                  f"non-2xx {r['non_2xx']}  socket errors {r['socket_errors'] or 'none'}",
                  flush=True)
            if r["non_2xx"]:
                print(r["raw"])
                sys.exit(f"bench: {kind} answered {r['non_2xx']} non-2xx responses")

    best = max(results, key=lambda n: results[n]["real"]["rps"])
    real, trivial, floor = (results[best][k] for k in ("real", "trivial", "floor"))
    ratio = real["rps"] / trivial["rps"]
    setting = " ".join(SETTINGS[best])
    print()
    print(f"GET {PATH}: {TENANTS} tenants x {SITES_PER_TENANT} sites in PostgreSQL; "
          f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s "
          f"(after {args.warmup} s warm-up), {args.connections} tokens")
    print(f"gunicorn (best for the real app): {setting}")
    print(f"  {'':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>8}")
    for kind, r in (("real", real), ("trivial", trivial), ("floor", floor)):
        print(f"  {kind:8} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['cpu_ms']:8.3f}")
    print(f"  ratio real/trivial: {ratio:.1%} (goal >= 50%: "
          f"{'met' if ratio >= 0.5 else 'NOT met'})")
    print(f"  floor (CHOM's hooks and authentication, trivial view) / trivial: "
          f"{floor['rps'] / trivial['rps']:.1%}; real / floor: {real['rps'] / floor['rps']:.1%}")
    print(f"markdown: | {time.strftime('%Y-%m-%d')} | {os.cpu_count()} cores | {setting} | "
          f"{trivial['rps']:.0f} | {trivial['p50_ms']:.1f} / {trivial['p99_ms']:.1f} | "
          f"{real['rps']:.0f} | {real['p50_ms']:.1f} / {real['p99_ms']:.1f} | {ratio:.0%} |")
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "machine": machine(), "best": best,
            "ratio": ratio,
            "results": {n: {k: {x: v for x, v in r.items() if x != "raw"}
                            for k, r in kinds.items()} for n, kinds in results.items()},
        }, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
