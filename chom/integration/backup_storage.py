"""Where backups are kept: S3-compatible storage (boto3), or a directory when `S3_*` is unset.

Objects are written as they stream in, one bounded buffer at a time (a multipart upload's part
on S3, a file on disk), and their size and SHA-256 are computed on the way. A writer that is
aborted leaves nothing behind: the multipart upload is aborted, the partial file removed.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import boto3
from botocore.config import Config

# S3 parts are at least 5 MiB (but the last); 8 MiB bounds what one stream holds in memory.
PART_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class _Digest:
    def __init__(self) -> None:
        self.hash, self.size = hashlib.sha256(), 0

    def update(self, data: bytes) -> None:
        self.hash.update(data)
        self.size += len(data)


class S3Writer:
    """One object written as a multipart upload with server-side encryption requested.

    Parts are uploaded by a thread of the writer's own while the next one fills, so reading
    from the VPS and writing to S3 overlap; at most one part waits for it (`write` blocks
    meanwhile), so memory stays within three parts whatever the object's size."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        self.storage, self.key = storage, key
        self.digest, self.buffer, self.parts = _Digest(), bytearray(), []
        extra = {"ServerSideEncryption": storage.sse} if storage.sse else {}
        self.upload_id = storage.client.create_multipart_upload(
            Bucket=storage.bucket, Key=key, **extra)["UploadId"]
        self.numbered = 0
        self.pending: queue.Queue = queue.Queue(maxsize=1)
        self.failure: BaseException | None = None
        self.uploader = threading.Thread(target=self._upload_parts, daemon=True,
                                         name=f"upload {key}")
        self.uploader.start()

    def _upload_parts(self) -> None:
        while (item := self.pending.get()) is not None:
            number, body = item
            if self.failure is not None:
                continue  # drain what is queued; the writer reports the failure
            try:
                answer = self.storage.client.upload_part(
                    Bucket=self.storage.bucket, Key=self.key, UploadId=self.upload_id,
                    PartNumber=number, Body=body)
                self.parts.append({"ETag": answer["ETag"], "PartNumber": number})
            except BaseException as error:  # handed to the writer's thread, raised there
                self.failure = error

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def write(self, data: bytes) -> None:
        self._check()
        self.digest.update(data)
        self.buffer += data
        if len(self.buffer) >= PART_SIZE:
            self._queue_part()

    def _queue_part(self) -> None:
        self.numbered += 1
        self.pending.put((self.numbered, bytes(self.buffer)))
        self.buffer.clear()

    def _finish_uploads(self) -> None:
        self.pending.put(None)
        self.uploader.join()

    def complete(self) -> StoredObject:
        if self.buffer or not self.numbered:
            self._queue_part()
        self._finish_uploads()
        self._check()
        self.storage.client.complete_multipart_upload(
            Bucket=self.storage.bucket, Key=self.key, UploadId=self.upload_id,
            MultipartUpload={"Parts": sorted(self.parts, key=lambda p: p["PartNumber"])})
        return StoredObject(self.key, self.digest.size, self.digest.hash.hexdigest())

    def abort(self) -> None:
        self.buffer.clear()
        self.failure = self.failure or RuntimeError("aborted")
        self._finish_uploads()
        self.storage.client.abort_multipart_upload(
            Bucket=self.storage.bucket, Key=self.key, UploadId=self.upload_id)


class S3Storage:
    kind = "s3"

    def __init__(self, *, bucket: str, endpoint_url: str | None, region: str | None,
                 access_key: str | None, secret_key: str | None, sse: str | None) -> None:
        self.bucket, self.sse = bucket, sse
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def writer(self, key: str) -> S3Writer:
        return S3Writer(self, key)

    def open(self, key: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start:start + 1000]]
            if batch:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    def download_url(self, key: str, expires: int) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires)

    def abort_incomplete(self, prefix: str) -> int:
        """Abort the multipart uploads under `prefix` a killed process left open (S3 keeps
        their parts, and bills them, until aborted); returns how many."""
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix)
        uploads = [upload for page in pages for upload in page.get("Uploads", [])]
        for upload in uploads:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                               UploadId=upload["UploadId"])
        return len(uploads)

    def keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


class FileWriter:
    """One object written to `<key>.partial`, renamed into place when complete."""

    def __init__(self, path: Path) -> None:
        self.path, self.partial = path, path.with_name(path.name + ".partial")
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        self.file, self.digest = self.partial.open("wb"), _Digest()
        self.key = ""

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.file.write(data)

    def complete(self) -> StoredObject:
        self.file.close()
        os.replace(self.partial, self.path)
        return StoredObject(self.key, self.digest.size, self.digest.hash.hexdigest())

    def abort(self) -> None:
        self.file.close()
        self.partial.unlink(missing_ok=True)


class DirectoryStorage:
    """Backups as files under a directory (`instance/backups/` by default)."""

    kind = "directory"

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{key!r} leaves the backup directory")
        return path

    def writer(self, key: str) -> FileWriter:
        writer = FileWriter(self._path(key))
        writer.key = key
        return writer

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def download_url(self, key: str, expires: int) -> str | None:
        return None  # served by CHOM itself (a signed link), see services.backups

    def abort_incomplete(self, prefix: str) -> int:
        """Remove the `.partial` files under `prefix` a killed process left behind."""
        base = self._path(prefix)
        partials = list(base.rglob("*.partial")) if base.exists() else []
        for partial in partials:
            partial.unlink(missing_ok=True)
        return len(partials)

    def keys(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())


def storage_from_config(config) -> S3Storage | DirectoryStorage:
    """S3 when `S3_BUCKET` is set, else the backup directory."""
    if config.get("S3_BUCKET"):
        return S3Storage(
            bucket=config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"), access_key=config.get("S3_ACCESS_KEY_ID"),
            secret_key=config.get("S3_SECRET_ACCESS_KEY"),
            sse=config.get("S3_SERVER_SIDE_ENCRYPTION") or None,
        )
    return DirectoryStorage(config["CHOM_BACKUP_DIR"])
