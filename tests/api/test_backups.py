"""Backups through the API on a `local` VPS: streamed into moto's S3 server (or the backup
directory when S3 is unset), listed, linked for download, restored, deleted; storage counted."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tracemalloc
import uuid
from pathlib import Path

import pytest
import requests

from chom.extensions import db
from chom.integration.backup_storage import PART_SIZE
from chom.models import Backup, Operation, Site, Tenant
from chom.models.scoping import unscoped
from chom.services import provisioning
from chom.services.backups import new_backup, storage_used
from tests.http_receiver import Receiver
from tests.s3_server import moto_s3  # noqa: F401  (session fixture)


@pytest.fixture
def s3_bucket(clean_app, moto_s3):  # noqa: F811
    """The app's backups go to a fresh bucket of the moto server for this test."""
    bucket = moto_s3.new_bucket()
    saved = {key: clean_app.config.get(key) for key in moto_s3.settings(bucket)}
    clean_app.config.update(moto_s3.settings(bucket))
    clean_app.extensions.pop("chom_backup_storage", None)
    yield bucket
    clean_app.config.update(saved)
    clean_app.extensions.pop("chom_backup_storage", None)


def _site(account, domain="kept.example.com", html="<h1>kept</h1>"):
    created = account.create_site(domain, options={"index_html": html})
    assert created.status_code == 202, created.json
    assert account.wait_for_operation(created.json["meta"]["operation_id"])["status"] \
        == "succeeded"
    return created.json["data"]


def _backup(account, site_id) -> dict:
    response = account.post(f"/api/v1/sites/{site_id}/backups")
    assert response.status_code == 202, response.json
    operation = account.wait_for_operation(response.json["meta"]["operation_id"])
    assert operation["status"] == "succeeded", operation["log"]
    return account.get(f"/api/v1/sites/{site_id}/backups/{response.json['data']['id']}"
                       ).json["data"]


def _tenant_usage(app, account) -> int:
    with app.app_context():
        return storage_used(db.session.get(Tenant, uuid.UUID(account.tenant_id)))


def test_backup_streams_to_s3_with_checksums_and_counts(clean_app, register, local_vps,
                                                       s3_bucket, moto_s3):  # noqa: F811
    account = register("Backup Co")
    site = _site(account)
    web_root = local_vps["root"] / "var/www/kept.example.com"
    (web_root / "notes.txt").write_text("a file to keep\n")

    backup = _backup(account, site["id"])
    assert backup["status"] == "succeeded" and backup["trigger"] == "manual"
    assert [p["name"] for p in backup["parts"]] == ["webroot.tar.gz"]
    # The object in S3 is what was recorded: its size, its SHA-256, server-side encrypted.
    link = backup["download_urls"]["webroot.tar.gz"]
    assert backup["download_expires_in"] == clean_app.config["CHOM_BACKUP_URL_TTL"]
    body = requests.get(link, timeout=10).content
    assert len(body) == backup["size_bytes"] == backup["parts"][0]["size"]
    assert hashlib.sha256(body).hexdigest() == backup["parts"][0]["sha256"]
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert archive.extractfile("./notes.txt").read() == b"a file to keep\n"
    [key] = moto_s3.keys(s3_bucket)
    assert key.startswith(f"org-{account.organization_id}/tenant-{account.tenant_id}/")
    head = moto_s3.client().head_object(Bucket=s3_bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert _tenant_usage(clean_app, account) == backup["size_bytes"]

    listed = account.get(f"/api/v1/sites/{site['id']}/backups").json
    assert listed["meta"]["total"] == 1 and listed["data"][0]["id"] == backup["id"]


def test_restore_brings_back_deleted_files_and_delete_frees_storage(
        clean_app, register, local_vps, s3_bucket, moto_s3):  # noqa: F811
    account = register("Restore Co")
    site = _site(account)
    web_root = local_vps["root"] / "var/www/kept.example.com"
    (web_root / "notes.txt").write_text("precious\n")
    backup = _backup(account, site["id"])

    (web_root / "notes.txt").unlink()
    restored = account.post(f"/api/v1/sites/{site['id']}/backups/{backup['id']}/restore",
                            json={})
    assert restored.status_code == 202, restored.json
    operation = account.wait_for_operation(restored.json["data"]["id"])
    assert operation["status"] == "succeeded", operation["log"]
    assert (web_root / "notes.txt").read_text() == "precious\n"

    assert account.delete(f"/api/v1/sites/{site['id']}/backups/{backup['id']}"
                          ).status_code == 204
    assert moto_s3.keys(s3_bucket) == []
    assert _tenant_usage(clean_app, account) == 0
    assert account.get(f"/api/v1/sites/{site['id']}/backups/{backup['id']}").status_code == 404


def test_restore_into_a_clone_with_its_own_domain(clean_app, register, local_vps, s3_bucket):
    account = register("Clone Co")
    site = _site(account, html="<h1>original</h1>")
    web_root = local_vps["root"] / "var/www/kept.example.com"
    (web_root / "extra.html").write_text("<p>extra</p>")
    backup = _backup(account, site["id"])

    response = account.post(f"/api/v1/sites/{site['id']}/backups/{backup['id']}/restore",
                            json={"target": {"domain": "Staging.Example.com",
                                             "vps": local_vps["name"]}})
    assert response.status_code == 202, response.json
    clone = response.json["site"]
    assert clone["domain"] == "staging.example.com" and clone["id"] != site["id"]
    assert account.wait_for_operation(response.json["data"]["id"])["status"] == "succeeded"
    clone_root = local_vps["root"] / "var/www/staging.example.com"
    assert (clone_root / "extra.html").read_text() == "<p>extra</p>"
    assert account.get(f"/api/v1/sites/{clone['id']}").json["data"]["status"] == "active"


def test_without_s3_backups_go_to_the_backup_directory(clean_app, client, register,
                                                      local_vps):
    account = register("Disk Co")
    site = _site(account)
    backup = _backup(account, site["id"])
    path = clean_app.config["CHOM_BACKUP_DIR"] + "/" + \
        f"org-{account.organization_id}/tenant-{account.tenant_id}/site-{site['id']}/" \
        f"backup-{backup['id']}/webroot.tar.gz"
    with open(path, "rb") as stored:
        content = stored.read()
    assert hashlib.sha256(content).hexdigest() == backup["parts"][0]["sha256"]
    # CHOM's own signed, time-limited link serves it (no token needed: the link is one).
    link = backup["download_urls"]["webroot.tar.gz"]
    assert link.startswith("http://localhost/api/v1/backup-downloads/")
    downloaded = client.get(link.removeprefix("http://localhost"))
    assert downloaded.status_code == 200 and downloaded.data == content
    tampered = client.get(link.removeprefix("http://localhost")[:-3] + "abc")
    assert tampered.status_code == 404
    assert tampered.headers["Content-Type"] == "application/problem+json"
    clean_app.config["CHOM_BACKUP_URL_TTL"] = -1  # every link issued is now too old
    try:
        assert client.get(link.removeprefix("http://localhost")).status_code == 404
    finally:
        clean_app.config["CHOM_BACKUP_URL_TTL"] = 900


def test_bad_requests_are_problems(clean_app, register, local_vps):
    account = register("Edge Co")
    site = _site(account)
    backup = _backup(account, site["id"])
    url = f"/api/v1/sites/{site['id']}/backups/{backup['id']}/restore"
    bad = account.post(url, json={"target": {"domain": "not a domain"}})
    assert bad.status_code == 422 and "target.domain" in bad.json["errors"]
    assert account.post(url, json={"target": {"domain": "kept.example.com"}}
                        ).status_code == 409  # the domain is taken
    assert account.post(url, json={"target": {"domain": "x.example.com", "vps": "nope"}}
                        ).status_code == 503
    missing = f"/api/v1/sites/{site['id']}/backups/{uuid.uuid4()}"
    assert account.get(missing).status_code == 404
    assert account.get(f"/api/v1/sites/{site['id']}/backups/not-a-uuid").status_code == 404


def test_a_backup_larger_than_memory_allows_is_never_held_whole(
        clean_app, register, local_vps, s3_bucket):
    """A 96 MiB web root (incompressible) streams through a few parts at a time (one
    filling, one queued, one uploading): the job's Python allocations peak far below the
    object's size."""
    account = register("Big Co")
    site = _site(account, "big.example.com")
    web_root = local_vps["root"] / "var/www/big.example.com"
    with (web_root / "big.bin").open("wb") as big:
        for _ in range(96):
            big.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        backup = _backup(account, site["id"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert backup["size_bytes"] > 96 * 1024 * 1024
    assert peak < 5 * PART_SIZE < backup["size_bytes"] / 2


def test_a_failed_backup_counts_nothing_and_is_announced(clean_app, register, local_vps):
    account = register("Failing Co")
    site = _site(account, "fragile.example.com")
    receiver = Receiver()
    try:
        channel = account.post("/api/v1/notification-channels", json={
            "kind": "webhook", "target": receiver.url + "/hooks", "events": ["backup.failed"]})
        assert channel.status_code == 201, channel.json
        shutil.rmtree(local_vps["root"] / "var/www/fragile.example.com")  # tar cannot read it

        response = account.post(f"/api/v1/sites/{site['id']}/backups")
        operation = account.wait_for_operation(response.json["meta"]["operation_id"])
        assert operation["status"] == "failed" and "exited" in operation["error"]
        backup = account.get(f"/api/v1/sites/{site['id']}/backups/{response.json['data']['id']}"
                             ).json["data"]
        assert (backup["status"], backup["size_bytes"], backup["parts"]) == ("failed", 0, [])
        assert backup["download_urls"] is None
        assert _tenant_usage(clean_app, account) == 0
        # The site itself still stands: a failed backup fails only itself.
        assert account.get(f"/api/v1/sites/{site['id']}").json["data"]["status"] == "active"
        (delivery,) = receiver.wait_for(1)
        event = json.loads(delivery.body)
        assert event["type"] == "backup.failed"
        assert event["data"]["backup_id"] == backup["id"]
        assert event["data"]["domain"] == "fragile.example.com"
    finally:
        receiver.close()


def test_a_backup_and_a_restore_of_one_site_never_overlap(clean_app, register, local_vps):
    account = register("Overlap Co")
    site = _site(account)
    backup = _backup(account, site["id"])
    with clean_app.app_context(), unscoped():
        # As if each were still under way.
        row = db.session.get(Backup, uuid.UUID(backup["id"]))
        pending = Backup(tenant_id=row.tenant_id, site_id=row.site_id, status="running",
                         storage_key=row.storage_key + "-x")
        db.session.add(pending)
        db.session.commit()
        pending_id, tenant_id, site_id = pending.id, row.tenant_id, row.site_id
    url = f"/api/v1/sites/{site['id']}/backups/{backup['id']}/restore"
    refused = account.post(url, json={})
    assert refused.status_code == 409 and "backup" in refused.json["detail"]
    with clean_app.app_context(), unscoped():
        db.session.delete(db.session.get(Backup, pending_id))
        restore = Operation(tenant_id=tenant_id, site_id=site_id, kind="restore",
                            status="running")
        db.session.add(restore)
        db.session.commit()
    refused = account.post(f"/api/v1/sites/{site['id']}/backups")
    assert refused.status_code == 409 and "restore" in refused.json["detail"]


def test_a_backup_whose_job_gave_up_is_failed_and_holds_nothing(clean_app, register,
                                                                local_vps):
    account = register("Gave Up Co")
    site = _site(account)
    with clean_app.app_context(), unscoped():
        backup = new_backup(db.session.get(Site, uuid.UUID(site["id"])), trigger="scheduled",
                            correlation_id=None)
        db.session.commit()  # never enqueued: as if every retry of its job had failed
        backup_id, operation_id = backup.id, str(backup.operation_id)
        partial = Path(clean_app.config["CHOM_BACKUP_DIR"]) / backup.storage_key / "x.partial"
        partial.parent.mkdir(parents=True)
        partial.write_bytes(b"half")
        provisioning.mark_failed(operation_id, "ConnectionError: storage unreachable")
        backup = db.session.get(Backup, backup_id, populate_existing=True)
        assert (backup.status, backup.error) == ("failed", "ConnectionError: storage unreachable")
    assert not partial.exists()
    assert account.get(f"/api/v1/operations/{operation_id}").json["data"]["status"] == "failed"
    assert account.get(f"/api/v1/sites/{site['id']}").json["data"]["status"] == "active"
