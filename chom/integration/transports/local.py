"""The `local` transport: this machine stands in for a VPS (the `make run` default).

Commands run as argv lists (no shell) with the VPS root as working directory; the site-type
plans' absolute paths are mapped under that root by the VPS profile, not here.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from chom.plugin_api import CommandResult, Transport, hookimpl


def paths_under(root: str) -> dict:
    """The path settings of a VPS profile, laid out as on Debian but under `root` (a sandbox,
    a test host's state directory)."""
    base = Path(root)
    return {
        "web_root_base": str(base / "var/www"),
        "nginx_sites_dir": str(base / "etc/nginx/sites-enabled"),
        "php_pool_dir": str(base / "etc/php/{php_version}/fpm/pool.d"),
        "php_socket_dir": str(base / "run/php"),
        "acme_challenge_base": str(base / "var/lib/chom/acme"),
        "tls_dir": str(base / "etc/ssl/chom"),
        "nginx_log_dir": str(base / "var/log/nginx"),
        "php_log_dir": str(base / "var/log/chom-php"),
        "logrotate_dir": str(base / "etc/logrotate.d"),
    }


def sandbox_profile(root: str) -> dict:
    """A VPS profile that keeps everything under `root` and needs no root privileges: the
    `local` VPS of `make run`, and the plugin test kit's."""
    return {
        "root": str(root),
        **paths_under(root),
        "manage_system_users": False,
        "commands": {"nginx_test": ["true"], "nginx_reload": ["true"],
                     "php_fpm_reload": ["true"]},
    }


class LocalTransport(Transport):
    name = "local"

    def __init__(self, *, vps, config) -> None:
        self.root = vps.settings.get("root") or config["CHOM_LOCAL_VPS_ROOT"]

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float = 300,
        on_line: Callable[[str], None] | None = None,
    ) -> CommandResult:
        with tempfile.TemporaryFile() as stderr, subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
        ) as process:
            timer = threading.Timer(timeout, process.kill)
            timer.start()
            try:
                feeder = threading.Thread(target=_feed, args=(process.stdin, input or b""))
                feeder.start()
                lines = []
                for raw in process.stdout:
                    line = raw.decode(errors="replace").rstrip("\n")
                    lines.append(line)
                    if on_line:
                        on_line(line)
                feeder.join()
                status = process.wait()
            finally:
                timer.cancel()
            stderr.seek(0)
            return CommandResult(status, "\n".join(lines) + ("\n" if lines else ""),
                                 stderr.read().decode(errors="replace"))

    def stream(
        self,
        argv: Sequence[str],
        *,
        stdin: BinaryIO | None = None,
        on_stdout: Callable[[bytes], None] | None = None,
        timeout: float = 3600,
    ) -> CommandResult:
        with tempfile.TemporaryFile() as stderr, subprocess.Popen(
            list(argv), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=stderr,
        ) as process:
            timer = threading.Timer(timeout, process.kill)
            timer.start()
            feeder, failures = None, []
            try:
                if stdin is not None:
                    feeder = threading.Thread(target=_copy,
                                              args=(stdin, process.stdin, process, failures))
                    feeder.start()
                while chunk := process.stdout.read1(STREAM_CHUNK):
                    if on_stdout:
                        on_stdout(chunk)
                status = process.wait()
            except BaseException:
                process.kill()  # the reader failed: stop the command, then let it propagate
                raise
            finally:
                timer.cancel()
                if feeder:
                    feeder.join()
            if failures:
                raise failures[0]  # reading the source failed: the command was stopped
            stderr.seek(0)
            return CommandResult(status, "", stderr.read()[-STDERR_KEPT:].decode(errors="replace"))


STREAM_CHUNK = 256 * 1024
STDERR_KEPT = 64 * 1024


def _copy(source: BinaryIO, pipe, process, failures: list) -> None:
    try:
        while chunk := source.read(STREAM_CHUNK):
            pipe.write(chunk)
    except (BrokenPipeError, ValueError):
        pass  # the command stopped reading (it failed, or was killed): its status says why
    except Exception as error:  # the source failed: stop the command, report it
        failures.append(error)
        process.kill()
    finally:
        with contextlib.suppress(BrokenPipeError):
            pipe.close()


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
    except BrokenPipeError:
        pass
    finally:
        pipe.close()


@hookimpl
def chom_register_transports():
    return {"local": LocalTransport}
