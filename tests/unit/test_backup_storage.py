"""S3Writer against moto's server: parts uploaded while the next fills, checksums, SSE, and
an aborted or refused upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from chom.integration.backup_storage import PART_SIZE, DirectoryStorage, S3Storage
from tests.s3_server import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    moto_s3,  # noqa: F401  (session fixture)
)


@pytest.fixture
def storage(moto_s3):  # noqa: F811
    return S3Storage(bucket=moto_s3.new_bucket(), endpoint_url=moto_s3.endpoint_url,
                     region=REGION, access_key=ACCESS_KEY, secret_key=SECRET_KEY, sse="AES256")


def test_an_object_of_several_parts_round_trips(storage):
    data = os.urandom(2 * PART_SIZE + 12345)
    writer = storage.writer("a/b/object")
    for start in range(0, len(data), 300_000):
        writer.write(data[start:start + 300_000])
    stored = writer.complete()
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert storage.open("a/b/object").read() == data
    head = storage.client.head_object(Bucket=storage.bucket, Key="a/b/object")
    assert head["ServerSideEncryption"] == "AES256"
    assert storage.keys("a/") == ["a/b/object"]


def test_an_empty_object_is_still_an_object(storage):
    assert storage.writer("empty").complete().size == 0
    assert storage.open("empty").read() == b""


def test_abort_leaves_no_object_and_no_upload(storage):
    writer = storage.writer("partial")
    writer.write(os.urandom(PART_SIZE + 1))  # one part sent or on its way
    writer.abort()
    assert storage.keys("") == []
    assert storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", []) == []


def test_storage_refusing_a_part_fails_the_writer(storage):
    writer = storage.writer("refused")
    storage.client.abort_multipart_upload(Bucket=storage.bucket, Key="refused",
                                          UploadId=writer.upload_id)  # S3 forgets it
    with pytest.raises(ClientError):
        for _ in range(4):
            writer.write(os.urandom(PART_SIZE))
        writer.complete()
    assert storage.keys("") == []


def test_uploads_a_killed_process_left_open_are_aborted_by_prefix(storage):
    left = storage.writer("org-1/backup-a/webroot.tar.gz")
    left.write(os.urandom(PART_SIZE + 1))
    left._finish_uploads()  # as if the process died here: never completed, never aborted
    other = storage.writer("org-1/backup-b/webroot.tar.gz")
    assert storage.abort_incomplete("org-1/backup-a/") == 1
    uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["org-1/backup-b/webroot.tar.gz"]
    other.abort()


def test_partial_files_are_removed_by_prefix(tmp_path):
    directory = DirectoryStorage(str(tmp_path))
    writer = directory.writer("org-1/backup-a/part")
    writer.write(b"half")
    done = directory.writer("org-1/backup-a/done")
    done.write(b"whole")
    done.complete()
    assert directory.abort_incomplete("org-1/backup-a/") == 1
    assert directory.keys("org-1/") == ["org-1/backup-a/done"]
