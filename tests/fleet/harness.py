"""The test fleet: N "VPS" hosts on this machine, each in its own network namespace.

Host n is namespace `chomvps<n>`, reached at 10.231.<n>.2 (the machine's end of its veth pair is
10.231.<n>.1), and runs its own sshd (port 22, key-only, pinned per-run host key), nginx (port
80), PHP-FPM 8.2 and MariaDB (unix socket only), every one with its own configuration and state
under `<CHOM_FLEET_ROOT>/vps<n>` (default /srv/chom-fleet). Nothing here is mocked: CHOM reaches
a host only over SSH, exactly like a real server; the host's `profile` is the VPS `settings`
that point CHOM's executor at that host's paths and service commands.

Needs root, and the packages of scripts/ensure-fleet.sh. Usage outside pytest:

    python -m tests.fleet.harness up [N]     # start N hosts and print them (stays up)
    python -m tests.fleet.harness down       # stop everything a fleet left behind
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from chom.integration.transports.local import paths_under

FLEET_ROOT = Path(os.environ.get("CHOM_FLEET_ROOT", "/srv/chom-fleet"))
NETNS_PREFIX = os.environ.get("CHOM_FLEET_PREFIX", "chomvps")
SUBNET = os.environ.get("CHOM_FLEET_SUBNET", "10.231")
TEMPLATES = Path(__file__).parent / "templates"
PHP_VERSION = "8.2"

SSHD = "/usr/sbin/sshd"
NGINX = "/usr/sbin/nginx"
PHP_FPM = "/usr/sbin/php-fpm8.2"
MARIADBD = "/usr/sbin/mariadbd"
MARIADB = "/usr/bin/mariadb"
MARIADB_DUMP = "/usr/bin/mariadb-dump"
MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"
MYSQLADMIN = "/usr/bin/mysqladmin"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
IP = "/usr/sbin/ip"
REQUIRED_BINARIES = (SSHD, NGINX, PHP_FPM, MARIADBD, MARIADB, MARIADB_DUMP, MARIADB_INSTALL_DB,
                     MYSQLADMIN, SSH_KEYGEN, IP, "/usr/bin/php8.2")

DAEMONS = ("mariadb", "php-fpm", "nginx", "sshd")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

_NS_RE = re.compile(rf"^{NETNS_PREFIX}(\d+)$")
_LINK_RE = re.compile(rf"^{NETNS_PREFIX}(\d+)h$")

# mariadbd flags shared by the template initialisation and every host's server.
_MARIADB_COMMON = (
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
)


class FleetError(RuntimeError):
    """The fleet could not be brought up (or a command inside a host failed)."""


def missing_binaries() -> list[str]:
    return [path for path in REQUIRED_BINARIES if not os.access(path, os.X_OK)]


def _render(template: str, **values: str) -> str:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    if "{{" in text:
        raise FleetError(f"template {template} has an unfilled placeholder")
    return text


def _run(argv: list[str], *, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise FleetError(f"{' '.join(argv)} exited {result.returncode}: "
                         f"{result.stderr.strip() or result.stdout.strip()}")
    return result


def _wait(what: str, predicate, timeout: float = START_TIMEOUT, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        with contextlib.suppress(OSError):
            if predicate():
                return
        if time.monotonic() > deadline:
            tail = ""
            if log is not None and log.exists():
                tail = "\n--- " + str(log) + " ---\n" + "\n".join(
                    log.read_text(errors="replace").splitlines()[-20:])
            raise FleetError(f"{what} did not come up within {timeout:.0f} s{tail}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still "exists"; treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_and_wait(pids: set[int], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, wait, then SIGKILL whatever is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
                if sig == signal.SIGTERM:
                    os.kill(pid, signal.SIGCONT)  # a frozen (SIGSTOPped) daemon too
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline:
            pids = {pid for pid in pids if _pid_alive(pid)}
            if not pids:
                return
            time.sleep(0.02)


def netns_pids(netns: str) -> set[int]:
    """Every process living in network namespace `netns`: all of them are the fleet's."""
    result = _run([IP, "netns", "pids", netns], check=False)
    return {int(word) for word in result.stdout.split() if word.isdigit()}


def _ancestors() -> set[int]:
    """This process and its parents (never ours to kill, whatever their command line says)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def pids_mentioning(path: Path) -> set[int]:
    """Processes whose command line names a path under `path` (the fleet's own state)."""
    needle = str(path).rstrip("/") + "/"
    found = set()
    spared = _ancestors()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in spared:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            found.add(int(entry))
    return found


def _fleet_users(root: Path) -> list[str]:
    """Sites' system users the executor created on fleet hosts (home under the fleet root)."""
    prefix = str(root).rstrip("/") + "/"
    users = []
    with open("/etc/passwd") as f:
        for line in f:
            parts = line.rstrip("\n").split(":")
            if len(parts) >= 6 and parts[5].startswith(prefix) and parts[2] != "0":
                users.append(parts[0])
    return users


def cleanup(root: Path = FLEET_ROOT, *, remove_state: bool = True) -> None:
    """Remove whatever a fleet (this one, or a crashed earlier run) left on this machine."""
    namespaces = []
    listing = _run([IP, "netns", "list"], check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        if _NS_RE.match(name):
            namespaces.append(name)
    pids: set[int] = set()
    for name in namespaces:
        pids |= netns_pids(name)
    if root.exists():
        pids |= pids_mentioning(root)
    pids -= _ancestors()
    if pids:
        _kill_and_wait(pids, timeout=5)
    for name in namespaces:
        _run([IP, "netns", "delete", name], check=False)
    links = _run([IP, "-o", "link", "show"], check=False).stdout
    for line in links.splitlines():
        match = re.match(r"^\d+:\s+([^:@]+)", line)
        if match and _LINK_RE.match(match.group(1)):
            _run([IP, "link", "delete", match.group(1)], check=False)
    for user in _fleet_users(root):
        _run(["userdel", user], check=False)
    if remove_state and root.exists():
        for child in root.iterdir():
            if child.name.startswith("vps") or child.name == "client":
                shutil.rmtree(child, ignore_errors=True)


def _mariadb_template(root: Path) -> Path:
    """A pristine datadir made by mariadb-install-db, cached per MariaDB version.

    Each host's datadir is a fresh copy of it (copying takes ~0.1 s, initialising ~2 s).
    """
    version = _run([MARIADBD, "--version"]).stdout.split()
    tag = re.sub(r"[^A-Za-z0-9.]+", "_", version[2] if len(version) > 2 else "unknown")
    template = root / ".cache" / f"mariadb-datadir-{tag}"
    if (template / "mysql" / "global_priv.frm").exists():
        return template
    work = root / ".cache" / f"mariadb-datadir-{tag}.tmp{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _run([MARIADB_INSTALL_DB, "--no-defaults", f"--datadir={work}", "--user=root",
          "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve",
          *_MARIADB_COMMON], timeout=120)
    shutil.rmtree(template, ignore_errors=True)
    work.rename(template)
    return template


@dataclass
class VpsHost:
    """One fleet host, as CHOM's VPS row needs it, plus handles for tests.

    `host_key` is the line the VPS row pins ("ssh-ed25519 AAAA..."); `profile` is the VPS
    `settings` the executor compiles plans for (paths under `state_dir`, and this host's
    service commands).
    """

    index: int
    name: str
    address: str
    state_dir: Path
    client_key_path: str
    host_key: str = ""
    ssh_port: int = 22
    ssh_user: str = "root"
    http_url: str = ""
    profile: dict = field(default_factory=dict)
    _procs: dict = field(default_factory=dict, repr=False)

    # --- paths --------------------------------------------------------------------------------

    @property
    def netns(self) -> str:
        return self.name

    @property
    def host_address(self) -> str:
        """The machine's end of the veth pair (where CHOM's connections come from)."""
        return f"{SUBNET}.{self.index}.1"

    def path(self, relative: str) -> Path:
        return self.state_dir / relative

    @property
    def nginx_conf(self) -> str:
        return str(self.path("etc/nginx/nginx.conf"))

    @property
    def php_fpm_conf(self) -> str:
        return str(self.path(f"etc/php/{PHP_VERSION}/fpm/php-fpm.conf"))

    @property
    def mysql_socket(self) -> str:
        return str(self.path("run/mysqld/mysqld.sock"))

    @property
    def env(self) -> dict[str, str]:
        """What a command on this host sees (the same values sshd's SetEnv gives a session)."""
        return {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "SHLVL": "1",
            "PHP_INI_SCAN_DIR": f":{self.path('etc/php/8.2/conf.d')}",
            "MYSQL_UNIX_PORT": self.mysql_socket,
        }

    def add_vps_kwargs(self, **overrides) -> dict:
        """Keyword arguments for `chom.services.fleet.add_vps` that describe this host."""
        values = {"name": self.name, "host": self.address, "port": self.ssh_port,
                  "ssh_user": self.ssh_user, "host_key": self.host_key,
                  "settings": dict(self.profile), "transport": "ssh"}
        values.update(overrides)
        return values

    # --- commands inside the host -------------------------------------------------------------

    def run(self, argv: list[str], *, check: bool = True, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """Run `argv` inside this host's namespace, locally (for assertions), as root."""
        result = subprocess.run([IP, "netns", "exec", self.netns, *argv], input=input,
                                capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            raise FleetError(f"{self.name}: {' '.join(argv)} exited {result.returncode}: "
                             f"{result.stderr.strip() or result.stdout.strip()}")
        return result

    def sql(self, statement: str, *, check: bool = True) -> str:
        """Run SQL as MariaDB's root on this host; tab-separated rows without headers."""
        return self.run([*self.profile["commands"]["mysql"], "-N", "-B", "-e", statement],
                        check=check).stdout

    # --- set-up ---------------------------------------------------------------------------------

    def _network_up(self) -> None:
        ns, host_if, ns_if = self.netns, f"{self.name}h", f"{self.name}n"
        _run([IP, "netns", "add", ns])
        _run([IP, "link", "add", host_if, "type", "veth", "peer", "name", ns_if])
        _run([IP, "link", "set", ns_if, "netns", ns])
        _run([IP, "addr", "add", f"{self.host_address}/24", "dev", host_if])
        _run([IP, "link", "set", host_if, "up"])
        batch = (f"addr add {self.address}/24 dev {ns_if}\n"
                 f"link set {ns_if} up\n"
                 "link set lo up\n")
        _run([IP, "-n", ns, "-batch", "-"], input=batch)

    def _network_down(self) -> None:
        _run([IP, "netns", "delete", self.netns], check=False)
        _run([IP, "link", "delete", f"{self.name}h"], check=False)

    def _write_state(self, client_public_key: str, mariadb_template: Path) -> None:
        state = self.state_dir
        for relative in ("etc/ssh", "etc/nginx/sites-enabled", "etc/php/8.2/fpm/pool.d",
                         "etc/php/8.2/conf.d", "run/php", "run/mysqld", "var/www",
                         "var/log/nginx", "var/lib/nginx", "bin", "tmp"):
            (state / relative).mkdir(parents=True, exist_ok=True)
        os.chmod(state / "tmp", 0o1777)
        values = {"name": self.name, "address": self.address, "state": str(state),
                  "mysql_socket": self.mysql_socket}
        files = {
            "etc/ssh/sshd_config": ("sshd_config", 0o600),
            "etc/nginx/nginx.conf": ("nginx.conf", 0o644),
            "etc/php/8.2/fpm/php-fpm.conf": ("php-fpm.conf", 0o644),
            "etc/php/8.2/fpm/fleet-placeholder.pool": ("fleet-placeholder.pool", 0o644),
            "etc/php/8.2/conf.d/50-chom-fleet.ini": ("php-fleet.ini", 0o644),
            "bin/nginx-reload": ("nginx-reload", 0o755),
            "bin/php-fpm-reload": ("php-fpm-reload", 0o755),
        }
        for relative, (template, mode) in files.items():
            target = state / relative
            target.write_text(_render(template, **values))
            os.chmod(target, mode)
        # Relative includes in server blocks (`include fastcgi_params;`) resolve here.
        for name in ("fastcgi_params", "fastcgi.conf", "mime.types", "snippets"):
            source = Path("/etc/nginx") / name
            if source.exists():
                (state / "etc/nginx" / name).symlink_to(source)
        key = state / "etc/ssh/ssh_host_ed25519_key"
        _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", self.name, "-f", str(key)])
        key_type, key_data = Path(f"{key}.pub").read_text().split()[:2]
        self.host_key = f"{key_type} {key_data}"
        authorized = state / "etc/ssh/authorized_keys"
        authorized.write_text(client_public_key.strip() + "\n")
        os.chmod(authorized, 0o600)
        shutil.copytree(mariadb_template, state / "var/lib/mysql", symlinks=True)
        os.chmod(state / "run/mysqld", 0o755)
        (state / "var/lib/nginx").chmod(0o755)

    def _build_profile(self) -> None:
        state = self.state_dir
        self.http_url = f"http://{self.address}"
        self.profile = {
            **paths_under(str(state)),
            "mysql_socket": self.mysql_socket,
            "manage_system_users": True,
            "commands": {
                "nginx_test": [NGINX, "-t", "-q", "-c", self.nginx_conf,
                               "-e", str(state / "var/log/nginx/error.log")],
                "nginx_reload": [str(state / "bin/nginx-reload")],
                "php_fpm_reload": [str(state / "bin/php-fpm-reload"), "{php_version}"],
                "mysql": [MARIADB, "--no-defaults", f"--socket={self.mysql_socket}", "-uroot"],
                "mysqldump": [MARIADB_DUMP, "--no-defaults", f"--socket={self.mysql_socket}",
                              "-uroot"],
            },
        }

    # --- daemons --------------------------------------------------------------------------------

    def _spawn(self, daemon: str, argv: list[str]) -> None:
        log = self.path(f"var/log/{daemon}.out")
        with open(log, "ab") as out:
            self._procs[daemon] = subprocess.Popen(
                [IP, "netns", "exec", self.netns, *argv], stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
                cwd="/")

    def _exited(self, daemon: str) -> None:
        proc = self._procs.get(daemon)
        if proc is not None and proc.poll() is not None:
            log = self.path(f"var/log/{daemon}.out")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise FleetError(f"{self.name}: {daemon} exited with {proc.returncode}\n{tail}")

    def _start_mariadb(self) -> None:
        state = self.state_dir
        self._spawn("mariadb", [
            MARIADBD, "--no-defaults", f"--datadir={state / 'var/lib/mysql'}",
            f"--socket={self.mysql_socket}", f"--pid-file={state / 'run/mysqld/mysqld.pid'}",
            f"--log-error={state / 'var/log/mariadb.err'}", f"--tmpdir={state / 'tmp'}",
            "--user=root", "--skip-networking", "--skip-name-resolve", "--skip-log-bin",
            "--performance-schema=OFF", "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci", "--innodb-flush-log-at-trx-commit=2",
            "--innodb-doublewrite=0", "--max-connections=100", *_MARIADB_COMMON,
        ])

    def _mariadb_ready(self) -> bool:
        self._exited("mariadb")
        if not Path(self.mysql_socket).exists():
            return False
        result = subprocess.run([MYSQLADMIN, "--no-defaults", f"--socket={self.mysql_socket}",
                                 "-uroot", "--connect-timeout=2", "ping"],
                                capture_output=True, timeout=10)
        return result.returncode == 0

    def _start_php_fpm(self) -> None:
        self._spawn("php-fpm", [PHP_FPM, "--nodaemonize", "--fpm-config", self.php_fpm_conf])

    def _php_fpm_ready(self) -> bool:
        self._exited("php-fpm")
        return (self.path("run/php-fpm8.2.pid").exists()
                and self.path("run/php/chom-fleet-placeholder.sock").exists())

    def _start_nginx(self) -> None:
        self._spawn("nginx", [NGINX, "-c", self.nginx_conf,
                              "-e", str(self.path("var/log/nginx/error.log"))])

    def _nginx_ready(self) -> bool:
        self._exited("nginx")
        with socket.create_connection((self.address, 80), timeout=1) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\nHost: fleet-probe.invalid\r\n\r\n")
            return conn.recv(64).startswith(b"HTTP/1.1 404")

    def start_sshd(self) -> None:
        """Start this host's sshd (again) and wait until it answers with its banner."""
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        self._spawn("sshd", [SSHD, "-D", "-f", str(self.path("etc/ssh/sshd_config")),
                             "-E", str(self.path("var/log/sshd.log"))])
        _wait(f"{self.name}: sshd", self._sshd_ready, log=self.path("var/log/sshd.log"))

    def _sshd_ready(self) -> bool:
        self._exited("sshd")
        with socket.create_connection((self.address, self.ssh_port), timeout=1) as conn:
            return conn.recv(64).startswith(b"SSH-2.0-")

    def _sshd_pids(self) -> set[int]:
        pids = set()
        for pid in netns_pids(self.netns):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/exe") == SSHD:
                    pids.add(pid)
        return pids

    def kill_sshd(self, *, drop_sessions: bool = True) -> None:
        """SSH is down on this host: its sshd stops (and, by default, open sessions drop)."""
        proc = self._procs.pop("sshd", None)
        pids = self._sshd_pids() if drop_sessions else set()
        if proc is not None:
            pids.add(proc.pid)
        _kill_and_wait(pids)
        if proc is not None:
            proc.wait(timeout=5)

    def freeze_sshd(self) -> None:
        """sshd hangs (SIGSTOP): connections are accepted by the kernel but never answered."""
        for pid in self._sshd_pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw_sshd(self) -> None:
        for pid in self._sshd_pids():
            os.kill(pid, signal.SIGCONT)

    def start(self) -> None:
        """Start every daemon (configuration and data kept from before) and wait for them."""
        if self._procs:
            raise FleetError(f"{self.name} is already running")
        self._start_mariadb()
        self._start_php_fpm()
        self._start_nginx()
        _wait(f"{self.name}: nginx", self._nginx_ready,
              log=self.path("var/log/nginx/error.log"))
        _wait(f"{self.name}: php-fpm", self._php_fpm_ready,
              log=self.path("var/log/php8.2-fpm.log"))
        _wait(f"{self.name}: mariadb", self._mariadb_ready, log=self.path("var/log/mariadb.err"))
        self.start_sshd()

    def stop(self) -> None:
        """The VPS is down: every process in it stops. State and network stay for `start()`."""
        procs, self._procs = self._procs, {}
        pids = {proc.pid for proc in procs.values()} | netns_pids(self.netns)
        pids |= pids_mentioning(self.state_dir)
        pids -= _ancestors()
        _kill_and_wait(pids)
        for proc in procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        for leftover in ("run/nginx.pid", "run/php-fpm8.2.pid", "run/sshd.pid",
                         "run/mysqld/mysqld.pid"):
            self.path(leftover).unlink(missing_ok=True)

    @property
    def running(self) -> bool:
        """Every daemon of this host is alive (a frozen sshd counts as alive)."""
        return all(name in self._procs and self._procs[name].poll() is None
                   for name in DAEMONS)

    def ensure_running(self) -> None:
        """Bring the host back if a test left it down (stopped, sshd killed or frozen)."""
        self.thaw_sshd()
        if not self.running:
            self.stop()
            self.start()


@dataclass
class Fleet:
    """N hosts; `start()` brings them up from scratch, `stop()` removes every trace."""

    size: int = 2
    root: Path = FLEET_ROOT
    hosts: list[VpsHost] = field(default_factory=list)
    client_key_path: str = ""
    started_in: float = 0.0
    _up: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.size <= 250:
            raise FleetError(f"fleet size {self.size} is out of range (1-250)")

    def __getitem__(self, index: int) -> VpsHost:
        return self.hosts[index]

    def __iter__(self):
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    def start(self) -> Fleet:
        if os.geteuid() != 0:
            raise FleetError("the test fleet needs root (network namespaces, daemons)")
        missing = missing_binaries()
        if missing:
            raise FleetError(f"missing {', '.join(missing)}: run scripts/ensure-fleet.sh")
        began = time.monotonic()
        cleanup(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # sshd's StrictModes walks the authorized_keys path
        for parent in self.root.resolve().parents:
            if parent.stat().st_mode & 0o022:
                raise FleetError(f"{parent} is group/world-writable: sshd (StrictModes) would "
                                 "refuse the keys; set CHOM_FLEET_ROOT elsewhere")
        self._up = True
        try:
            template = _mariadb_template(self.root)
            client_dir = self.root / "client"
            client_dir.mkdir(mode=0o700)
            key = client_dir / "id_ed25519"
            _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "chom-fleet-client",
                  "-f", str(key)])
            self.client_key_path = str(key)
            public = Path(f"{key}.pub").read_text()
            self.hosts = [
                VpsHost(index=n, name=f"{NETNS_PREFIX}{n}", address=f"{SUBNET}.{n}.2",
                        state_dir=self.root / f"vps{n}", client_key_path=str(key))
                for n in range(1, self.size + 1)
            ]

            def bring_up(host: VpsHost) -> None:
                host._network_up()
                host._build_profile()
                host._write_state(public, template)
                host.start()

            workers = min(len(self.hosts), 8)
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                for future in [pool.submit(bring_up, host) for host in self.hosts]:
                    future.result()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def ensure_running(self) -> None:
        if self._up:
            for host in self.hosts:
                host.ensure_running()

    def stop(self, *, keep_state: bool | None = None) -> None:
        """Stop every daemon, delete the namespaces and links, the sites' users and the state.

        Idempotent. CHOM_FLEET_KEEP=1 keeps the state directories (logs) for a post-mortem.
        """
        if not self._up:
            return
        self._up = False
        if keep_state is None:
            keep_state = os.environ.get("CHOM_FLEET_KEEP") == "1"
        workers = max(1, min(len(self.hosts), 8))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda host: host.stop(), self.hosts))
        for host in self.hosts:
            host._network_down()
        cleanup(self.root, remove_state=not keep_state)


def _main(args: list[str]) -> int:
    command = args[0] if args else "up"
    if command == "down":
        cleanup(FLEET_ROOT)
        print("fleet: cleaned up")
        return 0
    if command == "up":
        fleet = Fleet(size=int(args[1]) if len(args) > 1 else 2).start()
        for host in fleet:
            print(f"{host.name}: ssh -i {host.client_key_path} -o StrictHostKeyChecking=yes "
                  f"root@{host.address}   {host.http_url}   state {host.state_dir}")
            print(f"  host key: {host.host_key}")
        print(f"fleet: up in {fleet.started_in:.2f} s; `python -m tests.fleet.harness down` "
              "stops it")
        return 0
    print(__doc__)
    return 2


def host_key_object(host_key: str):
    """The paramiko key for a pinned "ssh-ed25519 AAAA..." line."""
    import paramiko

    key_type, data = host_key.split()[:2]
    return paramiko.PKey.from_type_string(key_type, base64.b64decode(data))


def ssh_connect(host: VpsHost, *, host_key: str | None = None, timeout: float = 10):
    """A paramiko client logged in to `host` with its host key pinned (RejectPolicy).

    `host_key` overrides the pinned key (to check that a wrong one is refused); TCP_NODELAY
    is set on the socket (see FLEET.md).
    """
    import paramiko

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    pinned = host_key if host_key is not None else host.host_key
    if pinned:
        key = host_key_object(pinned)
        name = host.address if host.ssh_port == 22 else f"[{host.address}]:{host.ssh_port}"
        client.get_host_keys().add(name, key.get_name(), key)
    sock = socket.create_connection((host.address, host.ssh_port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        client.connect(host.address, port=host.ssh_port, username=host.ssh_user,
                       key_filename=host.client_key_path, sock=sock, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout, look_for_keys=False,
                       allow_agent=False)
    except BaseException:
        client.close()
        sock.close()
        raise
    return client


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
