"""Provisioning benchmark: 50 static HTML sites onto ONE test-fleet VPS, three ways.

    .venv/bin/python bench/provision.py [--sites 50] [--rounds 3] [--ansible-rounds 1]
                                        [--workers 1] [--no-ansible] [--no-diagnostics]
                                        [--json out.json]

Needs root (the test fleet: tests/fleet/harness.py, packages of scripts/ensure-fleet.sh),
PostgreSQL on 127.0.0.1:5432 with trust auth and Redis on 127.0.0.1:6379 (`make services`).

1. Starts a one-host test fleet of its OWN (namespace `chombench1`, 10.232.1.2, state under
   /srv/chom-bench-fleet; `CHOM_FLEET_PREFIX`/`_SUBNET`/`_ROOT` are set before the harness is
   imported, so a test fleet running at the same time with the default names is untouched),
   and re-creates the PostgreSQL database `chom_bench_provision` (schema by the migrations).
2. Per round, each approach starts from a clean VPS (no web roots, no server blocks, nginx
   reloaded; checked: every domain answers 404) and must reach the same end state (checked:
   every domain answers 200 with exactly CHOM's default page via the VPS's nginx and Host
   headers, and every server block is byte-for-byte the one CHOM's `html` plugin writes):

   - **CHOM**: the real job path. The API is called through the Flask test client in this
     process (`POST /api/v1/sites` × 50, one tenant, bearer token); each POST commits the site
     and its Operation and enqueues an RQ job in Redis (redis://127.0.0.1:6379/15, a queue of
     this run's own); a real `flask chom worker` process (started by this script before the
     clock starts, with the same database and queue) runs the jobs, which apply each site's
     plan over SSH with the VPS's pinned host key. Timed from the first POST until all 50
     Operations are `succeeded` (polled in PostgreSQL every 25 ms).
   - **Ansible** (ansible-core from PyPI, installed at run time into a separate venv, never a
     project dependency): `bench/ansible/site.yml`, the idiomatic playbook (file, copy,
     copy + a handler for one `nginx -t` and reload; the contents are CHOM's own bytes),
     over OpenSSH with the same client key and a known_hosts file pinning the same host key;
     pipelining on, ControlPersist on.
     Timed: the `ansible-playbook` process, start to exit.
   - **Floor**: one hand-written bash script (mkdir, index.html, server block per site, then
     one `nginx -t` and one reload) piped to ONE `ssh` invocation (FLEET.md's "floor").
     Timed: the `ssh` process, start to exit (connection set-up included).

3. Diagnostics (not the benchmark; they explain where CHOM's time goes): the same 50 plans
   applied by CHOM's own executor (`chom.integration.executor.apply_plan`, the `ssh`
   transport) from this process without the API, the database or RQ: one invocation per plan
   on one pooled connection; one invocation per plan, a new connection each (what a forking
   RQ worker pays); all 50 plans merged into ONE invocation with one reload; and merged with
   one `nginx -t` for the whole batch instead of one per server block.

Prints sites/s for each approach and the ratios CHOM/Ansible and CHOM/floor (goal: >= 5x
Ansible, within 2x of the floor, i.e. ratio to floor >= 0.5). Figures, not pass/fail: the exit
status is 0 unless the benchmark itself could not run or an end state was wrong.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

# Our own fleet names, set before tests.fleet.harness is imported (it reads them at import).
os.environ.setdefault("CHOM_FLEET_PREFIX", "chombench")
os.environ.setdefault("CHOM_FLEET_SUBNET", "10.232")
os.environ.setdefault("CHOM_FLEET_ROOT", "/srv/chom-bench-fleet")
if os.environ["CHOM_FLEET_PREFIX"] == "chomvps" or os.environ["CHOM_FLEET_SUBNET"] == "10.231":
    sys.exit("bench/provision.py must not use the test suite's fleet names (chomvps, 10.231)")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from chom_html import HtmlSiteType, default_index, nginx_site  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from rq import Queue, Worker  # noqa: E402

from chom import create_app  # noqa: E402
from chom.config import PLANS  # noqa: E402
from chom.extensions import db  # noqa: E402
from chom.integration.batch import apply_batch  # noqa: E402
from chom.integration.executor import apply_plan  # noqa: E402
from chom.integration.transports.pool import close_all as close_all_transports  # noqa: E402
from chom.integration.transports.ssh import SshTransport  # noqa: E402
from chom.plugin_api import (  # noqa: E402
    EnsureNginxSite,
    Plan,
    PutFile,
    ReloadService,
    RunCommand,
    SiteContext,
)
from chom.services import fleet as fleet_service  # noqa: E402
from chom.services.site_profile import site_context as chom_site_context  # noqa: E402
from tests.conftest import recreate_postgres_database, truncate_all  # noqa: E402
from tests.fleet.harness import Fleet, VpsHost  # noqa: E402

DATABASE_URL = os.environ.get(
    "CHOM_BENCH_PROVISION_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/chom_bench_provision",
)
REDIS_URL = os.environ.get("CHOM_BENCH_PROVISION_REDIS_URL", "redis://127.0.0.1:6379/15")
ANSIBLE_DIR = ROOT / "bench" / "ansible"
ANSIBLE_VENV = Path(os.environ.get("CHOM_BENCH_ANSIBLE_VENV", "/tmp/chom-bench-ansible-venv"))
PASSWORD = "correct horse battery staple"
FLASK = str(Path(sys.executable).parent / "flask")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the VPS: clean state, end state ------------------------------------------------------------

def domains_for(count: int) -> list[str]:
    return [f"site{n:03d}.bench.example" for n in range(1, count + 1)]


def reset_vps(host: VpsHost) -> None:
    """Remove every web root and server block, and reload nginx (not timed)."""
    profile = host.profile
    script = (
        f"find {shlex.quote(profile['web_root_base'])} -mindepth 1 -delete && "
        f"find {shlex.quote(profile['nginx_sites_dir'])} -mindepth 1 -delete && "
        f"{shlex.join(profile['commands']['nginx_reload'])}"
    )
    host.run(["bash", "-c", script])


def site_context(host: VpsHost, domain: str) -> SiteContext:
    """What CHOM gives its `html` plugin for a new site `domain` on this host (CHOM's own
    `site_context`, so paths follow the VPS profile exactly as in the job)."""
    site = SimpleNamespace(id=uuid.uuid4(), domain=domain, type="html", php_version=None,
                           options={}, ssl_enabled=False)
    return chom_site_context(site, SimpleNamespace(settings=host.profile), None)


def site_files(host: VpsHost, domains: list[str]) -> list[dict]:
    """Per site: the web root, index.html and server block CHOM's `html` plugin writes. The
    floor and Ansible write exactly these bytes, so all three reach the same end state."""
    files = []
    for domain in domains:
        context = site_context(host, domain)
        files.append({"domain": domain, "web_root": context.paths.web_root,
                      "index_html": default_index(domain),
                      "server_block_path":
                          f"{host.profile['nginx_sites_dir']}/{context.paths.nginx_site_name}",
                      "server_block": nginx_site(context)})
    return files


def check_state(host: VpsHost, domains: list[str], *, provisioned: bool) -> None:
    """Every domain answers 200 with CHOM's page and has CHOM's server block (or answers 404
    and has none, for the clean state). Raises AssertionError naming the first difference."""
    sites_dir = Path(host.profile["nginx_sites_dir"])
    with requests.Session() as http:
        for domain in domains:
            page = http.get(f"{host.http_url}/", headers={"Host": domain}, timeout=10,
                            allow_redirects=False)
            block = sites_dir / f"{domain}.conf"
            if not provisioned:
                assert page.status_code == 404, f"{domain}: {page.status_code} on a clean VPS"
                assert not block.exists(), f"{block} left on a clean VPS"
                continue
            assert page.status_code == 200, f"{domain}: HTTP {page.status_code}"
            assert page.text.rstrip("\n") == default_index(domain).rstrip("\n"), \
                f"{domain}: not its own page: {page.text[:200]!r}"
            expected = nginx_site(site_context(host, domain))
            assert block.read_text().rstrip("\n") == expected.rstrip("\n"), \
                f"{block} differs from CHOM's server block"
    leftovers = sorted(p.name for p in sites_dir.iterdir())
    wanted = sorted(f"{d}.conf" for d in domains) if provisioned else []
    assert leftovers == wanted, f"unexpected server blocks: {set(leftovers) ^ set(wanted)}"


# --- SSH material for OpenSSH (the floor and Ansible) -------------------------------------------

def write_known_hosts(host: VpsHost, directory: Path) -> Path:
    path = directory / "known_hosts"
    name = host.address if host.ssh_port == 22 else f"[{host.address}]:{host.ssh_port}"
    path.write_text(f"{name} {host.host_key}\n")
    return path


def ssh_argv(host: VpsHost, known_hosts: Path) -> list[str]:
    return ["ssh", "-i", host.client_key_path, "-p", str(host.ssh_port),
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ControlMaster=no",
            "-o", "ControlPath=none", "-F", "/dev/null", f"{host.ssh_user}@{host.address}"]


# --- the floor ----------------------------------------------------------------------------------

def floor_script(host: VpsHost, domains: list[str]) -> str:
    """The plain script an operator would write: per site mkdir and two quoted heredocs (the
    same bytes CHOM writes), then one `nginx -t` and one reload."""
    commands = host.profile["commands"]
    lines = ["set -eu", "umask 022"]
    for site in site_files(host, domains):
        lines += [f"mkdir -p {shlex.quote(site['web_root'])}",
                  f"cat > {shlex.quote(site['web_root'] + '/index.html')} <<'CHOM_EOF'",
                  site["index_html"].rstrip("\n"), "CHOM_EOF",
                  f"cat > {shlex.quote(site['server_block_path'])} <<'CHOM_EOF'",
                  site["server_block"].rstrip("\n"), "CHOM_EOF"]
    lines += [shlex.join(commands["nginx_test"]), shlex.join(commands["nginx_reload"])]
    return "\n".join(lines) + "\n"


def run_floor(host: VpsHost, domains: list[str], known_hosts: Path) -> dict:
    script = floor_script(host, domains)
    began = time.perf_counter()
    result = subprocess.run([*ssh_argv(host, known_hosts), "bash", "-s"], input=script,
                            capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"floor script exited {result.returncode}: {result.stderr}")
    return {"seconds": elapsed}


# --- Ansible ------------------------------------------------------------------------------------

def ensure_ansible() -> Path:
    playbook = ANSIBLE_VENV / "bin" / "ansible-playbook"
    if not playbook.exists():
        log(f"installing ansible-core into {ANSIBLE_VENV} (not a project dependency)")
        subprocess.run(["python3", "-m", "venv", str(ANSIBLE_VENV)], check=True)
        subprocess.run([str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q",
                        "--disable-pip-version-check", "ansible-core"], check=True)
    return playbook


def ansible_version(playbook: Path) -> str:
    out = subprocess.run([str(playbook), "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "?"


def run_ansible(host: VpsHost, domains: list[str], known_hosts: Path, work: Path,
                playbook: Path) -> dict:
    inventory = (ANSIBLE_DIR / "inventory.ini.tmpl").read_text()
    for key, value in {"name": host.name, "address": host.address, "port": host.ssh_port,
                       "user": host.ssh_user, "key": host.client_key_path,
                       "known_hosts": known_hosts}.items():
        inventory = inventory.replace("{{" + key + "}}", str(value))
    (work / "inventory.ini").write_text(inventory)
    commands = host.profile["commands"]
    (work / "vars.json").write_text(json.dumps({
        "sites": site_files(host, domains),
        "nginx_test_cmd": shlex.join(commands["nginx_test"]),
        "nginx_reload_cmd": shlex.join(commands["nginx_reload"]),
    }))
    control = work / "cp"
    control.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(work / "none.cfg"),  # no ansible.cfg from elsewhere
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": f"-C -o ControlMaster=auto -o ControlPersist=60s "
                            f"-o ControlPath={control}/%C",
        "ANSIBLE_LOCAL_TEMP": str(work / "local-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(host.path("tmp/ansible")),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }
    (work / "none.cfg").write_text("[defaults]\n")
    argv = [str(playbook), "-i", str(work / "inventory.ini"), "--extra-vars",
            f"@{work / 'vars.json'}", str(ANSIBLE_DIR / "site.yml")]
    began = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=work,
                            timeout=900)
    elapsed = time.perf_counter() - began
    (work / "ansible.out").write_text(result.stdout + result.stderr)
    # Close the ControlPersist master this run left (ours, by its control socket).
    for socket_path in control.iterdir():
        subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "x"],
                       capture_output=True, timeout=10)
    if result.returncode != 0:
        raise RuntimeError(f"ansible-playbook exited {result.returncode}:\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    recap = [line for line in result.stdout.splitlines() if "ok=" in line]
    return {"seconds": elapsed, "recap": recap[-1].strip() if recap else ""}


# --- CHOM ---------------------------------------------------------------------------------------

class Chom:
    """The API app (this process, Flask test client) and a `flask chom worker` process."""

    def __init__(self, host: VpsHost, work: Path, workers: int, *, job_mode: str = "rq",
                 queue_suffix: str = "", bulk: bool = False) -> None:
        self.host, self.work, self.job_mode, self.bulk = host, work, job_mode, bulk
        self.queue_name = f"chombench-provision-{os.getpid()}{queue_suffix}"
        self.encryption_key = Fernet.generate_key().decode()
        self.secret_key = uuid.uuid4().hex
        # The tenant's plan must allow 50 sites: the starter plan's quota is lifted (this is
        # read only when a site is created, in this process).
        plans = {**PLANS, "starter": {**PLANS["starter"], "max_sites": None}}
        self.app = create_app({
            "SECRET_KEY": self.secret_key,
            "CHOM_ENCRYPTION_KEYS": self.encryption_key,
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "CHOM_JOB_MODE": job_mode,
            "CHOM_QUEUE_NAME": self.queue_name,
            "CHOM_PLANS": plans,
            "CHOM_PASSWORD_HASH_PROFILE": "CHEAPEST",
            "CHOM_RATE_LIMIT_AUTH": "100000/minute",
            "CHOM_RATE_LIMIT_API": "100000/minute",
            "CHOM_RATE_LIMIT_SENSITIVE": "100000/minute",
            "RATELIMIT_STORAGE_URI": "memory://",
        })
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.client = self.app.test_client()
        self.pg = psycopg.connect(DATABASE_URL.replace("postgresql+psycopg://", "postgresql://"),
                                  autocommit=True)
        self.workers: list[subprocess.Popen] = []
        for n in range(workers):
            self.workers.append(self._start_worker(n))
        if workers:
            self._wait_for_workers(workers)
        self.token = ""
        self.known: set[str] = set()  # this run's operation and site ids (Redis clean-up)

    def _start_worker(self, n: int) -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
               "CHOM_JOB_MODE": "rq", "CHOM_QUEUE_NAME": self.queue_name,
               "CHOM_ENCRYPTION_KEYS": self.encryption_key, "SECRET_KEY": self.secret_key}
        out = open(self.work / f"worker{n}.log", "ab")  # noqa: SIM115 (lives with the process)
        return subprocess.Popen([FLASK, "--app", "wsgi", "chom", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def _wait_for_workers(self, count: int, timeout: float = 60) -> None:
        queue = Queue(self.queue_name, connection=self.redis)
        deadline = time.monotonic() + timeout
        while len(Worker.all(queue=queue)) < count:
            for proc in self.workers:
                if proc.poll() is not None:
                    raise RuntimeError(f"flask chom worker exited {proc.returncode}; see "
                                       f"{self.work}/worker*.log")
            if time.monotonic() > deadline:
                raise RuntimeError("the RQ worker did not register within 60 s")
            time.sleep(0.1)

    def prepare(self) -> None:
        """A fresh tenant and the VPS row (not timed): the tables are emptied first."""
        truncate_all(self.app)
        with self.app.app_context():
            fleet_service.add_vps(**self.host.add_vps_kwargs(
                settings={**self.host.profile, "ssh_key_path": self.host.client_key_path},
                capacity=1000))
        response = self.client.post("/api/v1/auth/register", json={
            "organization": "Bench Co", "name": "Owner",
            "email": f"owner-{uuid.uuid4().hex[:8]}@bench.test", "password": PASSWORD})
        assert response.status_code == 201, response.json
        self.token = response.json["data"]["token"]

    def post_sites(self, domains: list[str]) -> list[str]:
        """`POST /api/v1/sites` for each domain (or one `POST /api/v1/sites/bulk` with
        `--bulk`); the Operations' ids."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.bulk:
            response = self.client.post("/api/v1/sites/bulk", headers=headers, json={
                "sites": [{"domain": domain, "type": "html"} for domain in domains]})
            assert response.status_code == 202, (response.status_code, response.json)
            operation_ids = response.json["meta"]["operation_ids"]
            for operation_id, site in zip(operation_ids, response.json["data"], strict=True):
                self.known.update((operation_id, site["id"]))
            return operation_ids
        operation_ids = []
        for domain in domains:
            response = self.client.post("/api/v1/sites", headers=headers,
                                        json={"domain": domain, "type": "html"})
            assert response.status_code == 202, (response.status_code, response.json)
            operation_ids.append(response.json["meta"]["operation_id"])
            self.known.update((response.json["meta"]["operation_id"],
                               response.json["data"]["id"]))
        return operation_ids

    def provision(self, domains: list[str], timeout: float = 900) -> dict:
        t0_wall = datetime.now(UTC)
        began = time.perf_counter()
        operation_ids = self.post_sites(domains)
        posted = time.perf_counter() - began
        deadline = time.monotonic() + timeout
        while True:
            counts = dict(self.pg.execute(
                "SELECT status, count(*) FROM operations WHERE id = ANY(%s::uuid[]) "
                "GROUP BY status", (operation_ids,)).fetchall())
            if counts.get("succeeded", 0) == len(domains):
                break
            if counts.get("failed"):
                error = self.pg.execute(
                    "SELECT error FROM operations WHERE status = 'failed' LIMIT 1").fetchone()
                raise RuntimeError(f"{counts['failed']} operations failed: {error[0]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"operations not finished after {timeout} s: {counts}")
            time.sleep(0.025)
        elapsed = time.perf_counter() - began
        return {"seconds": elapsed, "posts_seconds": posted,
                **self._breakdown(operation_ids, t0_wall, elapsed)}

    def _breakdown(self, operation_ids: list[str], t0: datetime, elapsed: float) -> dict:
        """Where the time went, from the Operations' own timestamps."""
        rows = self.pg.execute(
            "SELECT o.created_at, o.started_at, o.finished_at, o.log FROM operations o "
            "WHERE o.id = ANY(%s::uuid[]) ORDER BY o.started_at", (operation_ids,)).fetchall()

        def ts(value: datetime) -> float:
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return (value - t0).total_seconds()

        created = [ts(r[0]) for r in rows]
        started = [ts(r[1]) for r in rows]
        finished = [ts(r[2]) for r in rows]
        runs = [f - s for s, f in zip(started, finished, strict=True)]
        gaps = [started[i + 1] - finished[i] for i in range(len(rows) - 1)]
        # Operations applied together share a batch id ("... (batch <id> of <n>)" in the log).
        batch_ids = [m.group(1) for r in rows
                     for m in re.finditer(r"\(batch (\w+) of \d+\)", r[3] or "")]
        waits = [s - c for s, c in zip(started, created, strict=True)]
        return {
            "first_job_started_at": min(started),
            "last_job_finished_at": max(finished),
            "job_run_median": statistics.median(runs),
            "job_run_sum": sum(runs),
            "gap_between_jobs_median": statistics.median(gaps) if gaps else 0.0,
            "gap_between_jobs_sum": sum(g for g in gaps if g > 0),
            "queue_wait_median": statistics.median(waits),
            "batches": len(set(batch_ids)),
            "largest_batch": max(Counter(batch_ids).values(), default=0),
        }

    def close(self) -> None:
        if self.job_mode == "thread":
            self.app.extensions["chom_queue"].wait_idle(timeout=300)
            close_all_transports()
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # RQ's warm shutdown
        for proc in self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.workers = []
        # This run's queue and job keys only.
        for pattern in (f"rq:*{self.queue_name}*", "rq:job:op-*", "rq:results:op-*",
                        "chom:lock:site:*"):
            keys = list(self.redis.scan_iter(pattern, count=1000))
            if pattern != f"rq:*{self.queue_name}*":
                keys = [k for k in keys if self._ours(k)]
            if keys:
                self.redis.delete(*keys)
        # RQ 3.0 leaves a warm-shut-down worker's registration behind: remove ours.
        for key in list(self.redis.scan_iter("rq:worker:*", count=1000)):
            if self.redis.type(key) == b"hash" and \
                    (self.redis.hget(key, "queues") or b"").decode() == self.queue_name:
                self.redis.srem("rq:workers", key)
                self.redis.delete(key)
        self.redis.srem("rq:queues", f"rq:queue:{self.queue_name}")
        self.pg.close()
        with self.app.app_context():
            db.engine.dispose()

    def _ours(self, key: bytes) -> bool:
        """Job, result and lock keys that name one of this run's operations or sites."""
        text = key.decode()
        return any(value in text for value in self.known)


# --- diagnostics: CHOM's executor without the API, the database or RQ ---------------------------

def chom_transport(host: VpsHost) -> SshTransport:
    vps = SimpleNamespace(name=host.name, host=host.address, port=host.ssh_port,
                          ssh_user=host.ssh_user, host_key=host.host_key,
                          settings={**host.profile, "ssh_key_path": host.client_key_path})
    return SshTransport(vps=vps, config={})


def diagnostics(host: VpsHost, domains: list[str]) -> dict:
    html = HtmlSiteType()
    plans = [html.provision_plan(site_context(host, d)) for d in domains]
    profile = host.profile
    results = {}

    def timed(name: str, body) -> None:
        reset_vps(host)
        check_state(host, domains, provisioned=False)
        began = time.perf_counter()
        body()
        results[name] = time.perf_counter() - began
        check_state(host, domains, provisioned=True)
        log(f"  diagnostic {name}: {results[name]:.2f} s "
            f"({len(domains) / results[name]:.1f} sites/s)")

    def per_plan_pooled() -> None:
        transport = chom_transport(host)
        try:
            for plan in plans:
                apply_plan(transport, plan, profile)
        finally:
            transport.close()

    def per_plan_new_connection() -> None:
        for plan in plans:
            transport = chom_transport(host)
            try:
                apply_plan(transport, plan, profile)
            finally:
                transport.close()

    merged = Plan("provision", tuple(
        [step for plan in plans for step in plan.steps if not isinstance(step, ReloadService)]
        + [ReloadService("nginx")]))
    single_test = Plan("provision", tuple(
        [PutFile(f"{profile['nginx_sites_dir']}/{step.name}", step.config)
         if isinstance(step, EnsureNginxSite) else step
         for plan in plans for step in plan.steps if not isinstance(step, ReloadService)]
        + [RunCommand(tuple(profile["commands"]["nginx_test"])), ReloadService("nginx")]))

    def bulk(plan: Plan):
        def body() -> None:
            transport = chom_transport(host)
            try:
                apply_plan(transport, plan, profile)
            finally:
                transport.close()
        return body

    timed("executor_one_invocation_per_plan_pooled_connection", per_plan_pooled)
    timed("executor_one_invocation_per_plan_new_connection_each", per_plan_new_connection)
    timed("executor_all_plans_one_invocation_one_reload", bulk(merged))
    timed("executor_all_plans_one_invocation_one_nginx_test", bulk(single_test))

    def batch() -> None:
        transport = chom_transport(host)
        try:
            results = apply_batch(transport, plans, profile)
        finally:
            transport.close()
        assert all(result.error is None for result in results), results

    # What the worker runs for a batch (`chom.integration.batch`): every plan in one program,
    # one `nginx -t` for all the server blocks, each reload once.
    timed("executor_apply_batch_chom", batch)
    # The same with every server block tested as its own step (`nginx -t` per block): what
    # the batch's one test saves.
    with mock.patch("chom.integration.batch._deferred_block", lambda plan: None):
        timed("executor_apply_batch_nginx_test_per_block", batch)

    # What a single site's plan costs on the VPS alone: nginx -t + reload dominate it.
    reset_vps(host)
    transport = chom_transport(host)
    try:
        transport.run(["true"])  # connected
        samples = []
        for plan in plans[:10]:
            began = time.perf_counter()
            apply_plan(transport, plan, profile)
            samples.append(time.perf_counter() - began)
        began = time.perf_counter()
        for _ in range(10):
            transport.run(["true"])
        results["ssh_session_true_median"] = (time.perf_counter() - began) / 10
        began = time.perf_counter()
        for _ in range(5):
            transport.run(list(profile["commands"]["nginx_test"]))
        results["nginx_test_10_sites_median"] = (time.perf_counter() - began) / 5
        began = time.perf_counter()
        for _ in range(5):
            transport.run(list(profile["commands"]["nginx_reload"]))
        results["nginx_reload_10_sites_median"] = (time.perf_counter() - began) / 5
    finally:
        transport.close()
    results["one_plan_pooled_median"] = statistics.median(samples)
    began = time.perf_counter()
    for _ in range(5):
        chom_transport(host).run(["true"])
    results["new_connection_plus_true_median"] = (time.perf_counter() - began) / 5
    for key in ("one_plan_pooled_median", "ssh_session_true_median",
                "nginx_test_10_sites_median", "nginx_reload_10_sites_median",
                "new_connection_plus_true_median"):
        log(f"  diagnostic {key}: {results[key] * 1000:.0f} ms")
    return results


# --- main ---------------------------------------------------------------------------------------

def median_of(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(run[key] for run in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of CHOM and the floor")
    parser.add_argument("--ansible-rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="flask chom worker processes")
    parser.add_argument("--no-ansible", action="store_true")
    parser.add_argument("--bulk", action="store_true",
                        help="create CHOM's sites with one POST /api/v1/sites/bulk")
    parser.add_argument("--no-diagnostics", action="store_true")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("the test fleet needs root")

    def _terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    domains = domains_for(args.sites)
    work = Path(tempfile.mkdtemp(prefix="chom-bench-provision-"))
    log(f"work dir {work}; load average {os.getloadavg()}")
    playbook = None if args.no_ansible else ensure_ansible()

    fleet = Fleet(size=1)
    atexit.register(fleet.stop)
    chom = None
    results: dict = {"floor": [], "chom": [], "ansible": [], "diagnostics": {},
                     "chom_thread": [], "posts_only": []}
    try:
        log("starting a one-host fleet")
        fleet.start()
        host = fleet[0]
        log(f"fleet up in {fleet.started_in:.1f} s: {host.name} at {host.address}")
        known_hosts = write_known_hosts(host, work)
        recreate_postgres_database(DATABASE_URL)
        chom = Chom(host, work, args.workers, bulk=args.bulk)
        with chom.app.app_context():
            flask_migrate.upgrade()
        log(f"{args.workers} flask chom worker process(es) registered on queue "
            f"{chom.queue_name}")

        for round_no in range(1, args.rounds + 1):
            reset_vps(host)
            check_state(host, domains, provisioned=False)
            floor = run_floor(host, domains, known_hosts)
            check_state(host, domains, provisioned=True)
            results["floor"].append(floor)
            log(f"round {round_no} floor: {floor['seconds']:.2f} s")

            reset_vps(host)
            chom.prepare()
            check_state(host, domains, provisioned=False)
            run = chom.provision(domains)
            check_state(host, domains, provisioned=True)
            results["chom"].append(run)
            log(f"round {round_no} CHOM: {run['seconds']:.2f} s (posts {run['posts_seconds']:.2f} "
                f"s, job median {run['job_run_median'] * 1000:.0f} ms, gap median "
                f"{run['gap_between_jobs_median'] * 1000:.0f} ms, {run['batches']} batches, "
                f"largest {run['largest_batch']})")

        for round_no in range(1, (0 if args.no_ansible else args.ansible_rounds) + 1):
            reset_vps(host)
            check_state(host, domains, provisioned=False)
            run = run_ansible(host, domains, known_hosts, work, playbook)
            check_state(host, domains, provisioned=True)
            results["ansible"].append(run)
            log(f"round {round_no} Ansible: {run['seconds']:.2f} s ({run['recap']})")

        if not args.no_diagnostics:
            chom.close()
            chom = None
            # The API alone: 50 POSTs with no worker taking the jobs (they are discarded).
            api_only = Chom(host, work, 0, queue_suffix="-posts")
            try:
                api_only.prepare()
                began = time.perf_counter()
                api_only.post_sites(domains)
                results["posts_only"].append({"seconds": time.perf_counter() - began})
            finally:
                api_only.close()
            log(f"diagnostic: {len(domains)} POSTs, no worker running: "
                f"{results['posts_only'][0]['seconds']:.2f} s")
            # The same service code, jobs in this process's thread (no fork, pooled SSH).
            reset_vps(host)
            threaded = Chom(host, work, 0, job_mode="thread", queue_suffix="-thread")
            try:
                threaded.prepare()
                check_state(host, domains, provisioned=False)
                run = threaded.provision(domains)
                check_state(host, domains, provisioned=True)
                results["chom_thread"].append(run)
            finally:
                threaded.close()
            log(f"diagnostic CHOM, in-process job thread: {run['seconds']:.2f} s (posts "
                f"{run['posts_seconds']:.2f} s, job median {run['job_run_median'] * 1000:.0f} "
                f"ms, gap median {run['gap_between_jobs_median'] * 1000:.0f} ms)")
            log("diagnostics (CHOM's executor alone, no API/DB/RQ)")
            results["diagnostics"] = diagnostics(host, domains)
        reset_vps(host)
    finally:
        if chom is not None:
            chom.close()
        fleet.stop()

    sites = len(domains)
    floor_s, chom_s = median_of(results["floor"]), median_of(results["chom"])
    print()
    print(f"{sites} HTML sites on one VPS ({platform.python_version()}, {os.cpu_count()} cores, "
          f"load average now {os.getloadavg()[0]:.1f}); medians of "
          f"{args.rounds} round(s), Ansible {len(results['ansible'])}")
    print(f"  floor (one script, one ssh): {floor_s:7.2f} s  {sites / floor_s:8.1f} sites/s")
    print(f"  CHOM (API + RQ worker):      {chom_s:7.2f} s  {sites / chom_s:8.1f} sites/s")
    if results["ansible"]:
        ansible_s = median_of(results["ansible"])
        print(f"  Ansible ({ansible_version(playbook)}): {ansible_s:7.2f} s  "
              f"{sites / ansible_s:8.1f} sites/s")
        print(f"  CHOM vs Ansible: {ansible_s / chom_s:.1f}x faster (goal >= 5x)")
        results["chom_vs_ansible"] = ansible_s / chom_s
    print(f"  CHOM vs floor:   {chom_s / floor_s:.1f}x the floor's time "
          f"(ratio {floor_s / chom_s:.2f}; goal: within 2x)")
    results["chom_vs_floor"] = chom_s / floor_s
    results["sites"] = sites
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
