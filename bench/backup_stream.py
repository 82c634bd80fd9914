"""Backup streaming benchmark: a site's web root streamed from a test-fleet VPS over SSH into
moto's S3 server, and back, against plain OpenSSH doing the same transfer.

    .venv/bin/python bench/backup_stream.py [--mib 256] [--rounds 3]

Needs root (the test fleet: tests/fleet/harness.py). Starts a ONE-host fleet under the names
in CHOM_FLEET_PREFIX/_SUBNET/_ROOT (default `chombkbench`, 10.236, /srv/chom-bk-bench-fleet:
set before the harness is imported; never run it beside a test fleet of the same names) and
moto's S3 server on a free 127.0.0.1 port.

On the host, a web root holding `--mib` MiB of random (incompressible) bytes. Per round, the
median of `--rounds` is printed for:

- `floor`: OpenSSH (`ssh host <argv>`, output to /dev/null) — the transfer with no control
  plane at all;
- `stream→null`: CHOM's `SshTransport.stream`, chunks counted and dropped (the transport alone);
- `S3 alone`: the same number of bytes written from memory by the same `S3Writer`: moto's
  own ceiling on this machine;
- `stream→S3`: the backup path: `SshTransport.stream` into an `S3Writer` (multipart, 8 MiB
  parts, SHA-256 on the way), as `services.backup_runs` does;
- `S3→restore`: the restore path: the object read from S3 and fed to the restore command.

each for `cat` of the file (the transport's own throughput) and for the archive command
CHOM runs (`tar --create --gzip`, bounded by gzip on the VPS). The peak of Python memory
(tracemalloc) while streaming to S3 is printed beside the object size: it must stay a few
parts, whatever the size. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("CHOM_FLEET_PREFIX", "chombkbench")
os.environ.setdefault("CHOM_FLEET_SUBNET", "10.236")
os.environ.setdefault("CHOM_FLEET_ROOT", "/srv/chom-bk-bench-fleet")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chom.integration.backup_commands import dump_argv  # noqa: E402
from chom.integration.backup_storage import S3Storage  # noqa: E402
from chom.integration.transports.ssh import SshTransport  # noqa: E402
from chom.plugin_api import DirectoryArchive  # noqa: E402
from tests.fleet.harness import Fleet, VpsHost  # noqa: E402
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, start_moto  # noqa: E402

MIB = 1024 * 1024


def transport_for(host: VpsHost) -> SshTransport:
    vps = SimpleNamespace(name=host.name, host=host.address, port=host.ssh_port,
                          ssh_user=host.ssh_user, host_key=host.host_key,
                          settings={**host.profile, "ssh_key_path": host.client_key_path})
    return SshTransport(vps=vps, config={})


def ssh_argv(host: VpsHost, known_hosts: Path) -> list[str]:
    return ["ssh", "-i", host.client_key_path, "-p", str(host.ssh_port),
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ControlMaster=no",
            "-o", "ControlPath=none", "-F", "/dev/null", f"{host.ssh_user}@{host.address}"]


def timed(call) -> tuple[float, object]:
    began = time.perf_counter()
    value = call()
    return time.perf_counter() - began, value


def floor(host, known_hosts, argv) -> float:
    seconds, result = timed(lambda: subprocess.run(
        [*ssh_argv(host, known_hosts), *argv], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, timeout=600))
    if result.returncode != 0:
        raise RuntimeError(result.stderr.decode())
    return seconds


def to_null(transport, argv) -> tuple[float, int]:
    received = [0]

    def count(chunk: bytes) -> None:
        received[0] += len(chunk)

    seconds, result = timed(lambda: transport.stream(argv, on_stdout=count))
    assert result.exit_status == 0, result.stderr
    return seconds, received[0]


def to_s3(transport, storage, argv, key, *, trace: bool = False) -> tuple[float, int, int]:
    """Timed without tracing (tracemalloc slows every allocation); the traced pass only
    measures the peak."""
    if trace:
        tracemalloc.start()
    writer = storage.writer(key)
    seconds, result = timed(lambda: (transport.stream(argv, on_stdout=writer.write),
                                     writer.complete()))
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    assert result[0].exit_status == 0, result[0].stderr
    return seconds, result[1].size, peak


def s3_alone(storage, size: int, key: str) -> float:
    """The same bytes uploaded from memory, 256 KiB at a time: moto's own ceiling."""
    chunk = os.urandom(256 * 1024)

    def upload():
        writer = storage.writer(key)
        for _ in range(size // len(chunk)):
            writer.write(chunk)
        return writer.complete()

    return timed(upload)[0]


def from_s3(transport, storage, key, argv) -> float:
    def restore():
        body = storage.open(key)
        try:
            return transport.stream(argv, stdin=body)
        finally:
            body.close()

    seconds, result = timed(restore)
    assert result.exit_status == 0, result.stderr
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    fleet = Fleet(size=1)
    moto = start_moto()
    try:
        fleet.start()
        host = fleet[0]
        web_root = host.path("var/www/bench.example.com")
        web_root.mkdir(parents=True, exist_ok=True)
        with (web_root / "random.bin").open("wb") as out:
            for _ in range(args.mib):
                out.write(os.urandom(MIB))
        restore_dir = host.path("var/www/restored")
        restore_dir.mkdir(parents=True, exist_ok=True)
        bucket = moto.new_bucket()
        storage = S3Storage(bucket=bucket, endpoint_url=moto.endpoint_url, region=REGION,
                            access_key=ACCESS_KEY, secret_key=SECRET_KEY, sse="AES256")
        transport = transport_for(host)
        work = Path(tempfile.mkdtemp(prefix="chom-bench-backup-"))
        known_hosts = work / "known_hosts"
        name = host.address if host.ssh_port == 22 else f"[{host.address}]:{host.ssh_port}"
        known_hosts.write_text(f"{name} {host.host_key}\n")

        commands = {
            "cat": (["cat", str(web_root / "random.bin")],
                    ["dd", f"of={restore_dir / 'random.bin'}", "bs=1M", "status=none"]),
            "tar --gzip": (dump_argv(DirectoryArchive("w", path=str(web_root)), host.profile),
                           ["tar", "--extract", "--gzip", "--file=-", "--directory",
                            str(restore_dir)]),
        }
        print(f"web root: {args.mib} MiB random bytes on {host.name}; "
              f"median of {args.rounds} rounds; MiB/s of the bytes streamed\n")
        print(f"{'command':<12} {'floor':>7} {'→null':>7} {'S3 alone':>9} {'→S3':>7} "
              f"{'restore':>8} {'→S3/floor':>10} {'→S3/S3 alone':>13} {'object MiB':>11} "
              f"{'peak MiB':>9}")
        for label, (dump, restore) in commands.items():
            runs = {"floor": [], "null": [], "alone": [], "s3": [], "restore": []}
            size = 0
            for round_ in range(args.rounds):
                runs["floor"].append(floor(host, known_hosts, dump))
                runs["null"].append(to_null(transport, dump)[0])
                key = f"bench/{label}/{round_}"
                seconds, size, _ = to_s3(transport, storage, dump, key)
                runs["s3"].append(seconds)
                runs["alone"].append(s3_alone(storage, size, f"{key}-alone"))
                runs["restore"].append(from_s3(transport, storage, key, restore))
            peak = to_s3(transport, storage, dump, f"bench/{label}/traced", trace=True)[2]
            rate = {k: size / MIB / statistics.median(v) for k, v in runs.items()}
            print(f"{label:<12} {rate['floor']:>7.1f} {rate['null']:>7.1f} "
                  f"{rate['alone']:>9.1f} {rate['s3']:>7.1f} {rate['restore']:>8.1f} "
                  f"{rate['s3'] / rate['floor']:>10.0%} {rate['s3'] / rate['alone']:>13.0%} "
                  f"{size / MIB:>11.1f} {peak / MIB:>9.1f}")
        transport.close()
    finally:
        fleet.stop()
        moto.process.terminate()
        moto.process.wait(timeout=10)


if __name__ == "__main__":
    main()
