"""The fleet hosts behave like real servers, reached only as CHOM reaches them: over SSH with
a pinned host key, using the commands and paths of each host's VPS profile."""

from __future__ import annotations

import shlex
import socket
import subprocess

import paramiko
import pytest
import requests

from tests.fleet.harness import SSH_KEYGEN, SUBNET, VpsHost, ssh_connect


def ssh(client: paramiko.SSHClient, command: str, stdin: str | None = None) -> str:
    """Run one command; its stdout, or an assertion error with its stderr."""
    chan_in, chan_out, chan_err = client.exec_command(command, timeout=30)
    if stdin is not None:
        chan_in.write(stdin)
        chan_in.channel.shutdown_write()
    out = chan_out.read().decode()
    err = chan_err.read().decode()
    status = chan_out.channel.recv_exit_status()
    assert status == 0, f"{command!r} exited {status}: {err or out}"
    return out


def profile_command(host: VpsHost, name: str, **values) -> str:
    return shlex.join(word.format(**values) for word in host.profile["commands"][name])


def http_get(host: VpsHost, domain: str, path: str = "/") -> requests.Response:
    session = requests.Session()
    session.trust_env = False  # no proxy between us and the host
    return session.get(f"{host.http_url}{path}", headers={"Host": domain}, timeout=10)


class Clients:
    """One pinned SSH connection per host, made again when a fault test dropped it."""

    def __init__(self, fleet) -> None:
        self.hosts = {host.name: host for host in fleet}
        self.connected: dict[str, paramiko.SSHClient] = {}

    def __getitem__(self, name: str) -> paramiko.SSHClient:
        client = self.connected.get(name)
        transport = client.get_transport() if client is not None else None
        if transport is None or not transport.is_active():
            if client is not None:
                client.close()
            client = self.connected[name] = ssh_connect(self.hosts[name])
        return client

    def close(self) -> None:
        for client in self.connected.values():
            client.close()


@pytest.fixture(scope="module")
def clients(fleet):
    connected = Clients(fleet)
    yield connected
    connected.close()


def test_each_host_has_its_own_namespace_address_and_key(fleet):
    assert len(fleet) >= 2
    assert len({host.address for host in fleet}) == len(fleet)
    assert len({host.host_key for host in fleet}) == len(fleet)
    for host in fleet:
        assert host.address == f"{SUBNET}.{host.index}.2"
        assert host.http_url == f"http://{host.address}"
        assert (host.ssh_port, host.ssh_user) == (22, "root")
        assert host.host_key.startswith("ssh-ed25519 AAAA")
        addresses = host.run(["ip", "-o", "-4", "addr", "show"]).stdout
        assert f"{host.address}/24" in addresses
        for other in fleet:
            if other is not host:
                assert other.address not in addresses


def test_ssh_with_the_pinned_host_key(fleet, clients):
    for host in fleet:
        assert ssh(clients[host.name], "echo ready").strip() == "ready"
        # The session runs inside the host's namespace: its address is the one we dialled.
        assert host.address in ssh(clients[host.name], "ip -o -4 addr show")


def test_a_wrong_or_unknown_host_key_is_refused(fleet, tmp_path):
    stranger = tmp_path / "stranger"
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
                   check=True)
    strange_key = " ".join(stranger.with_suffix(".pub").read_text().split()[:2])
    for host in fleet:
        wrong_keys = [strange_key] + [other.host_key for other in fleet if other is not host]
        for wrong in wrong_keys:
            with pytest.raises(paramiko.BadHostKeyException):
                ssh_connect(host, host_key=wrong)
        # Nothing pinned: RejectPolicy refuses an unknown host, it never learns the key.
        with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
            ssh_connect(host, host_key="")


def test_ssh_commands_do_not_read_roots_bashrc(fleet, clients):
    for host in fleet:
        out = ssh(clients[host.name],
                  'echo "$SHLVL"; echo "${PYENV_SHELL-unset}"; type -t pyenv || echo none')
        shlvl, pyenv_shell, pyenv_type = out.split()
        # sshd hands bash SHLVL=1, so bash (now at 2) skips ~/.bashrc and its `pyenv init`.
        assert shlvl == "2"
        assert pyenv_shell == "unset"
        assert pyenv_type != "function"


def test_static_site_served_through_the_hosts_nginx(fleet, clients):
    for host in fleet:
        client = clients[host.name]
        domain = f"static.{host.name}.test"
        web_root = f"{host.profile['web_root_base']}/{domain}"
        server_block = (
            "server {\n"
            "    listen 80;\n"
            f"    server_name {domain};\n"
            f"    root {web_root};\n"
            "    index index.html;\n"
            "}\n"
        )
        page = f"<h1>static site on {host.name}</h1>\n"
        ssh(client, profile_command(host, "nginx_test"))
        ssh(client, f"mkdir -p {shlex.quote(web_root)} && cat > {shlex.quote(web_root)}/index.html",
            stdin=page)
        ssh(client, f"cat > {shlex.quote(host.profile['nginx_sites_dir'])}/{domain}.conf",
            stdin=server_block)
        ssh(client, profile_command(host, "nginx_test"))
        ssh(client, profile_command(host, "nginx_reload"))
        response = http_get(host, domain)
        assert response.status_code == 200
        assert response.text == page
    for host in fleet:
        # Each host serves its own sites only; unknown names get the default 404.
        for other in fleet:
            if other is not host:
                assert http_get(host, f"static.{other.name}.test").status_code == 404


def test_a_bad_server_block_fails_nginx_test_and_reload(fleet, clients):
    host = fleet[0]
    client = clients[host.name]
    broken = f"{host.profile['nginx_sites_dir']}/broken.conf"
    ssh(client, f"cat > {shlex.quote(broken)}", stdin="server { this is not nginx; }\n")
    try:
        for name in ("nginx_test", "nginx_reload"):
            with pytest.raises(AssertionError, match="exited 1"):
                ssh(client, profile_command(host, name))
    finally:
        ssh(client, f"rm -f {shlex.quote(broken)}")
    ssh(client, profile_command(host, "nginx_reload"))
    assert http_get(host, "fleet-probe.invalid").status_code == 404


def test_database_with_the_profiles_mysql_command(fleet, clients):
    for host in fleet:
        name = f"fleet_smoke_{host.index}"
        sql = (f"CREATE DATABASE IF NOT EXISTS {name};\n"
               f"CREATE TABLE IF NOT EXISTS {name}.owner (host VARCHAR(64));\n"
               f"INSERT INTO {name}.owner VALUES ('{host.name}');\n")
        ssh(clients[host.name], profile_command(host, "mysql"), stdin=sql)
    for host in fleet:
        databases = host.sql("SHOW DATABASES").split()
        assert f"fleet_smoke_{host.index}" in databases
        for other in fleet:
            if other is not host:
                assert f"fleet_smoke_{other.index}" not in databases
        assert host.sql(f"SELECT host FROM fleet_smoke_{host.index}.owner").strip() == host.name


def test_php_site_through_its_own_pool(fleet, clients):
    """A site's user, php-fpm pool, server block and database, as a site type lays them out;
    PHP's `localhost` is the host's own MariaDB."""
    for host in fleet:
        client = clients[host.name]
        user = f"chomfleetsmoke{host.index}"
        domain = f"php.{host.name}.test"
        web_root = f"{host.profile['web_root_base']}/{domain}"
        socket_path = f"{host.profile['php_socket_dir']}/{user}.sock"
        pool_dir = host.profile["php_pool_dir"].format(php_version="8.2")
        database, password = f"fleet_php_{host.index}", f"pw-{host.index}-smoke"
        ssh(client, profile_command(host, "mysql"), stdin=(
            f"CREATE DATABASE IF NOT EXISTS {database};\n"
            f"CREATE OR REPLACE USER '{user}'@'localhost' IDENTIFIED BY '{password}';\n"
            f"GRANT ALL ON {database}.* TO '{user}'@'localhost';\n"
            f"CREATE TABLE IF NOT EXISTS {database}.owner (host VARCHAR(64));\n"
            f"INSERT INTO {database}.owner VALUES ('{host.name}');\n"))
        ssh(client, f"id -u {user} >/dev/null 2>&1 || useradd --system --home-dir "
                    f"{shlex.quote(web_root)} --shell /usr/sbin/nologin {user}")
        ssh(client, f"mkdir -p {shlex.quote(web_root)} && chown {user}: {shlex.quote(web_root)}")
        page = (
            "<?php\n"
            f"$db = new mysqli('localhost', '{user}', '{password}', '{database}');\n"
            "$owner = $db->query('SELECT host FROM owner')->fetch_row()[0];\n"
            "echo 'PHP ', PHP_MAJOR_VERSION, '.', PHP_MINOR_VERSION, ' as ',\n"
            "     posix_getpwuid(posix_geteuid())['name'], ' with the database of ', $owner;\n"
        )
        ssh(client, f"cat > {shlex.quote(web_root)}/index.php", stdin=page)
        pool = (
            f"[{user}]\n"
            f"user = {user}\n"
            f"group = {user}\n"
            f"listen = {socket_path}\n"
            "listen.owner = www-data\n"
            "listen.group = www-data\n"
            "listen.mode = 0660\n"
            "pm = ondemand\n"
            "pm.max_children = 2\n"
        )
        ssh(client, f"cat > {shlex.quote(pool_dir)}/{user}.conf", stdin=pool)
        ssh(client, profile_command(host, "php_fpm_reload", php_version="8.2"))
        assert host.run(["test", "-S", socket_path]).returncode == 0
        server_block = (
            "server {\n"
            "    listen 80;\n"
            f"    server_name {domain};\n"
            f"    root {web_root};\n"
            "    index index.php;\n"
            "    location ~ \\.php$ {\n"
            "        include /etc/nginx/fastcgi_params;\n"
            "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
            f"        fastcgi_pass unix:{socket_path};\n"
            "    }\n"
            "}\n"
        )
        ssh(client, f"cat > {shlex.quote(host.profile['nginx_sites_dir'])}/{domain}.conf",
            stdin=server_block)
        ssh(client, profile_command(host, "nginx_test"))
        ssh(client, profile_command(host, "nginx_reload"))
        response = http_get(host, domain, "/index.php")
        assert response.status_code == 200, response.text
        assert response.text == f"PHP 8.2 as {user} with the database of {host.name}"


def test_php_fpm_reload_really_reloads_pools(fleet, clients):
    """A pool removed is gone after the reload; an unknown PHP version is an error."""
    host = fleet[0]
    client = clients[host.name]
    pool_dir = host.profile["php_pool_dir"].format(php_version="8.2")
    socket_path = f"{host.profile['php_socket_dir']}/fleetreload.sock"
    ssh(client, f"cat > {shlex.quote(pool_dir)}/fleetreload.conf", stdin=(
        f"[fleetreload]\nuser = www-data\ngroup = www-data\nlisten = {socket_path}\n"
        "pm = ondemand\npm.max_children = 1\n"))
    ssh(client, profile_command(host, "php_fpm_reload", php_version="8.2"))
    assert host.run(["test", "-S", socket_path], check=False).returncode == 0
    ssh(client, f"rm {shlex.quote(pool_dir)}/fleetreload.conf")
    ssh(client, profile_command(host, "php_fpm_reload", php_version=""))
    assert host.run(["test", "-e", socket_path], check=False).returncode != 0
    with pytest.raises(AssertionError, match="8.2 only"):
        ssh(client, profile_command(host, "php_fpm_reload", php_version="7.4"))


def test_the_executors_compiled_plan_runs_with_the_hosts_profile(fleet, clients):
    """Every kind of step, compiled by CHOM's plan compiler for this host's profile and sent as
    one program over SSH, serves a PHP site on its own pool and database; re-applying it
    changes nothing but the reloads; the removal plan leaves no trace."""
    from chom.integration.plan_script import MARKER, Profile, compile_plan
    from chom.plugin_api import (
        DropDatabase,
        EnsureDatabase,
        EnsureDirectory,
        EnsureNginxSite,
        EnsurePhpPool,
        EnsureSystemUser,
        Plan,
        PutFile,
        ReloadService,
        RemoveNginxSite,
        RemovePath,
        RemovePhpPool,
        RemoveSystemUser,
    )

    def apply(host: VpsHost, plan: Plan) -> list[str]:
        script = compile_plan(plan, Profile(host.profile))
        out = ssh(clients[host.name], "bash -s", stdin=script)
        return [line.split()[2] for line in out.splitlines()
                if line.startswith(MARKER) and not line.endswith(" begin")]

    for host in fleet:
        user = f"chomfleetplan{host.index}"
        domain = f"plan.{host.name}.test"
        web_root = f"{host.profile['web_root_base']}/{domain}"
        socket_path = f"{host.profile['php_socket_dir']}/{user}.sock"
        database, password = f"chom_plan_{host.index}", f"it's-{host.index}"
        pool = (f"[{user}]\nuser = {user}\ngroup = {user}\nlisten = {socket_path}\n"
                "listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\n"
                "pm = ondemand\npm.max_children = 2\n")
        server_block = (
            f"server {{\n    listen 80;\n    server_name {domain};\n    root {web_root};\n"
            "    index index.php;\n    location ~ \\.php$ {\n"
            "        include /etc/nginx/fastcgi_params;\n"
            "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
            f"        fastcgi_pass unix:{socket_path};\n    }}\n}}\n")
        page = (f"<?php $db = new mysqli('localhost', '{user}', \"{password}\", '{database}');\n"
                "echo 'planned ', $db->query('SELECT DATABASE()')->fetch_row()[0], ' as ',"
                " posix_getpwuid(posix_geteuid())['name'];\n")
        provision = Plan("provision", (
            EnsureSystemUser(user, home=web_root),
            EnsureDirectory(web_root, owner=user),
            PutFile(f"{web_root}/index.php", page, owner=user),
            EnsureDatabase(database, user, password),
            EnsurePhpPool(user, user, "8.2", pool),
            ReloadService("php-fpm", php_version="8.2"),
            EnsureNginxSite(f"{domain}.conf", server_block),
            ReloadService("nginx"),
        ))
        assert apply(host, provision) == ["changed"] * 8
        response = http_get(host, domain, "/index.php")
        assert response.status_code == 200, response.text
        assert response.text == f"planned {database} as {user}"
        assert host.run(["stat", "-c", "%U", f"{web_root}/index.php"]).stdout.strip() == user

        again = apply(host, provision)
        assert again == ["unchanged"] * 5 + ["changed", "unchanged", "changed"]

        removal = Plan("deprovision", (
            RemoveNginxSite(f"{domain}.conf"),
            ReloadService("nginx"),
            RemovePhpPool(user, "8.2"),
            ReloadService("php-fpm", php_version="8.2"),
            DropDatabase(database, user),
            RemovePath(web_root),
            RemoveSystemUser(user),
        ))
        assert "failed" not in apply(host, removal)
        assert http_get(host, domain, "/index.php").status_code == 404
        assert database not in host.sql("SHOW DATABASES").split()
        assert host.run(["id", "-u", user], check=False).returncode != 0
        assert host.run(["test", "-e", socket_path], check=False).returncode != 0


def _refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_fault_helpers_take_a_host_down_and_back(fleet):
    host = fleet[-1]
    host.kill_sshd()
    assert _refused(host.address, 22)
    assert http_get(host, "fleet-probe.invalid").status_code == 404  # the rest still runs
    host.start_sshd()
    ssh_connect(host).close()

    host.freeze_sshd()
    try:
        with pytest.raises((paramiko.SSHException, socket.timeout, EOFError)):
            ssh_connect(host, timeout=1)
    finally:
        host.thaw_sshd()
    ssh_connect(host).close()

    host.sql("CREATE DATABASE IF NOT EXISTS fleet_outage")
    host.stop()
    assert _refused(host.address, 22) and _refused(host.address, 80)
    assert not host.running
    host.start()
    assert host.running
    client = ssh_connect(host)
    try:
        # State survives the outage, like a server's after a reboot.
        databases = ssh(client, profile_command(host, "mysql") + " -N -e 'SHOW DATABASES'")
        assert "fleet_outage" in databases.split()
    finally:
        client.close()
    assert http_get(host, "fleet-probe.invalid").status_code == 404
