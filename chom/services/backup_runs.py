"""Running backups and restores on a VPS: each part streamed between the VPS and storage.

Runs inside the VPS's lock, alone (`services.batches.ALONE`). A backup part's dump command
writes to standard output over the transport, and each chunk goes straight into the storage
writer (an S3 multipart upload, one bounded part at a time): nothing is staged whole. A backup
that fails part-way aborts the part in flight and deletes the parts already stored, so only a
complete backup is ever `succeeded` and counted. A restore streams each part back into the
command that puts it in place, checks its SHA-256 on the way, then applies the site type's
restore plan.
"""

from __future__ import annotations

import hashlib
import json
import logging

from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app
from sqlalchemy import select

from chom.extensions import db
from chom.integration.backup_commands import dump_argv, restore_argv
from chom.integration.executor import PlanFailed, TransportError, apply_plan
from chom.integration.transports.pool import transport_for
from chom.models import Backup, Operation, Site
from chom.models.base import utcnow
from chom.plugin_api import (
    DirectoryArchive,
    EnsureDirectory,
    HostKeyMismatch,
    Plan,
    TransportUnavailable,
)
from chom.plugins import current_site_types
from chom.services import notifications
from chom.services.backup_store import storage
from chom.services.lifecycles import announce, append_log, finish
from chom.services.site_profile import profile_of, site_context

log = logging.getLogger(__name__)

STREAM_TIMEOUT = 6 * 3600


class BackupFailed(RuntimeError):
    """A part's command failed, or what came back is not what was stored."""


# What ends a backup or restore as failed, with its message (nothing here is retried: a
# scheduled backup runs again the next day, and a person asks again).
FAILURES = (BackupFailed, PlanFailed, TransportError, TransportUnavailable, HostKeyMismatch,
            ClientError, BotoCoreError, OSError, TimeoutError, EOFError)


def _context(site: Site):
    box = current_app.extensions["chom_secrets"]
    password = box.decrypt(site.db_password_encrypted) if site.db_password_encrypted else None
    return site_context(site, site.vps, password)


def _start(operation: Operation, steps: int) -> None:
    operation.status, operation.error = "running", None
    operation.started_at = operation.started_at or utcnow()
    operation.step_count, operation.step_index = steps, 0
    db.session.commit()


def _progress(operation: Operation, index: int, line: str) -> None:
    operation.step_index, operation.current_step = index, line[:200]
    append_log(operation, f"[{index}/{operation.step_count}] {line}")
    db.session.commit()


def _stream_part_out(transport, part, profile, key: str):
    writer = storage().writer(key)
    try:
        result = transport.stream(dump_argv(part, profile), on_stdout=writer.write,
                                  timeout=STREAM_TIMEOUT)
        if result.exit_status != 0:
            raise BackupFailed(f"{part.describe()} exited {result.exit_status}: "
                               f"{result.stderr.strip()[-1000:]}")
        return writer.complete()
    except BaseException:
        try:
            writer.abort()
        except FAILURES:
            log.exception("could not abort the upload of %s", key)
        raise


def run_backup(operation: Operation) -> None:
    """Stream every part of the site's backup to storage and record it on the Backup row."""
    backup = db.session.scalar(select(Backup).where(Backup.operation_id == operation.id))
    site = operation.site
    context = _context(site)
    parts = current_site_types()[site.type].backup_parts(context)
    backup.status, backup.error = "running", None
    # A run of this backup killed mid-stream (the operation resumed) left its upload open.
    storage().abort_incomplete(backup.storage_key + "/")
    _start(operation, len(parts))
    transport, profile = transport_for(site.vps), profile_of(site.vps)
    stored = []
    try:
        for index, part in enumerate(parts, start=1):
            _progress(operation, index, part.describe())
            stored.append((part.name, _stream_part_out(
                transport, part, profile, f"{backup.storage_key}/{part.name}")))
    except FAILURES as error:
        # Everything under the backup's prefix: this run's parts, and any a killed run stored.
        storage().delete(storage().keys(backup.storage_key + "/"))
        message = f"{type(error).__name__}: {error}"
        backup.status, backup.error, backup.parts, backup.size_bytes = "failed", message, [], 0
        backup.completed_at = utcnow()
        finish(operation, site, "failed", message)
        _notify_failed(site, backup)
        return
    backup.parts = [{"name": name, "key": obj.key, "size": obj.size, "sha256": obj.sha256}
                    for name, obj in stored]
    backup.size_bytes = sum(obj.size for _, obj in stored)
    manifest = "\n".join(f"{part['name']} {part['sha256']}" for part in backup.parts)
    backup.checksum = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    backup.status, backup.completed_at = "succeeded", utcnow()
    append_log(operation, f"stored {backup.size_bytes} bytes in {len(stored)} parts")
    finish(operation, site, "succeeded", None)
    announce_backup(site, backup)


def _notify_failed(site: Site, backup: Backup) -> None:
    notifications.notify_tenant(site.tenant_id, "backup.failed", {
        "site_id": str(site.id), "domain": site.domain, "backup_id": str(backup.id),
        "trigger": backup.trigger, "error": (backup.error or "")[:1000]})


def backup_failed(operation: Operation, reason: str) -> None:
    """The backup of an operation that failed outside `run_backup` (its job gave up): failed,
    holding nothing."""
    backup = db.session.scalar(select(Backup).where(Backup.operation_id == operation.id))
    if backup is not None and backup.status != "succeeded":
        storage().abort_incomplete(backup.storage_key + "/")
        storage().delete(storage().keys(backup.storage_key + "/"))
        backup.status, backup.error, backup.parts, backup.size_bytes = "failed", reason, [], 0
        backup.completed_at = utcnow()
        db.session.commit()
        _notify_failed(operation.site, backup)


def announce_backup(site: Site, backup: Backup) -> None:
    hook = current_app.extensions["chom_plugins"].hook.chom_site_backed_up
    try:
        hook(site=_context(site), backup_id=str(backup.id), size_bytes=backup.size_bytes)
    except Exception:  # a plugin's listener must not undo a finished backup
        log.exception("chom_site_backed_up listener failed")


class _Verified:
    """A readable that hashes what is read from it."""

    def __init__(self, source) -> None:
        self.source, self.hash = source, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.hash.update(data)
        return data


def _stream_part_in(transport, part, profile, stored: dict) -> None:
    source = _Verified(storage().open(stored["key"]))
    try:
        result = transport.stream(restore_argv(part, profile), stdin=source,
                                  timeout=STREAM_TIMEOUT)
    finally:
        source.source.close()
    if result.exit_status != 0:
        raise BackupFailed(f"restoring {part.name} exited {result.exit_status}: "
                           f"{result.stderr.strip()[-1000:]}")
    if source.hash.hexdigest() != stored["sha256"]:
        raise BackupFailed(f"{part.name} does not match its recorded SHA-256")


def run_restore(operation: Operation) -> None:
    """Put a backup's parts back on the operation's site, then apply its restore plan."""
    backup_id = json.loads(operation.payload)["backup_id"]
    backup = db.session.scalar(select(Backup).where(Backup.id == backup_id))
    site = operation.site
    source = db.session.scalar(select(Site).where(Site.id == backup.site_id)) if backup else None
    if backup is None or backup.status != "succeeded":
        finish(operation, site, "failed", "The backup is gone or did not succeed.")
        return
    site_type = current_site_types()[site.type]
    context = _context(site)
    parts = site_type.backup_parts(context)
    stored = {part["name"]: part for part in backup.parts}
    _start(operation, len(parts) + 1)
    transport, profile = transport_for(site.vps), profile_of(site.vps)
    try:
        missing = [part.name for part in parts if part.name not in stored]
        if missing:
            raise BackupFailed(f"the backup holds no {', '.join(missing)}")
        directories = tuple(EnsureDirectory(part.path) for part in parts
                            if isinstance(part, DirectoryArchive))
        apply_plan(transport, Plan("restore", directories), profile)
        for index, part in enumerate(parts, start=1):
            _progress(operation, index, f"restore {part.name}")
            _stream_part_in(transport, part, profile, stored[part.name])
        _progress(operation, len(parts) + 1, "apply the restore plan")
        apply_plan(transport, site_type.restore_plan(context, source_domain=source.domain),
                   profile)
    except FAILURES as error:
        finish(operation, site, "failed", f"{type(error).__name__}: {error}")
        return
    finish(operation, site, "succeeded", None)
    announce("chom_site_restored", context)
