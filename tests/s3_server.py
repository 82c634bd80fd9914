"""moto's standalone S3 server, for backup tests: one process per test session on a free
127.0.0.1 port, and the app settings that point backups at it.

    from tests.s3_server import moto_s3  # noqa: F401  (the session fixture)
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import boto3
import pytest
import requests

from chom.integration.backup_storage import S3Storage

ACCESS_KEY, SECRET_KEY, REGION = "testing", "testing", "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MotoS3:
    endpoint_url: str
    process: subprocess.Popen

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def new_bucket(self) -> str:
        name = f"chom-backups-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def settings(self, bucket: str) -> dict:
        """App settings (and worker environment) storing backups in `bucket`."""
        return {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": self.endpoint_url, "S3_REGION": REGION,
                "S3_ACCESS_KEY_ID": ACCESS_KEY, "S3_SECRET_ACCESS_KEY": SECRET_KEY}

    def keys(self, bucket: str) -> list[str]:
        return S3Storage(bucket=bucket, endpoint_url=self.endpoint_url, region=REGION,
                         access_key=ACCESS_KEY, secret_key=SECRET_KEY, sse=None).keys("")

    def multipart_uploads(self, bucket: str) -> list[dict]:
        return self.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def start_moto() -> MotoS3:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{url}/moto-api/", timeout=2).status_code < 500:
                return MotoS3(url, process)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"moto server did not start on port {port}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def moto_s3():
    """moto's S3 server, started once per session and stopped at its end."""
    server = start_moto()
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)
