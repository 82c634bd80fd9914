"""Uploaded site content: an archive validated here, repacked, and unpacked on the VPS.

Only regular files and directories are kept; every member's path must stay inside the web
root (no absolute paths, no `..`, no links or devices), and counts and sizes are bounded, so
a hostile archive is refused before anything reaches a VPS.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zipfile
from dataclasses import dataclass

from chom.models import Operation, Site
from chom.plugins import current_site_types
from chom.services import audit
from chom.services.errors import Conflict, NotFound, ValidationFailed
from chom.services.lookup import get_or_not_found
from chom.services.site_operations import start_operation
from chom.services.tenancy import Actor

MAX_FILES = 5_000
MAX_TOTAL_BYTES = 200 * 1024 * 1024  # unpacked


@dataclass(frozen=True)
class Member:
    path: str
    data: bytes | None  # None: a directory


def _clean_path(raw: str) -> str:
    path = raw.replace("\\", "/")
    normal = posixpath.normpath(path.lstrip("./") or ".")
    if path.startswith("/") or normal == ".." or normal.startswith("../") \
            or any(part == ".." for part in path.split("/")):
        raise ValueError(f"{raw!r} leaves the web root")
    return normal


def _members_of_zip(data: bytes) -> list[Member]:
    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if mode and (mode & 0o170000) not in (0o100000, 0o040000, 0):
                raise ValueError(f"{info.filename!r} is not a regular file or directory")
            path = _clean_path(info.filename)
            members.append(Member(path, None if info.is_dir() else archive.read(info)))
    return members


def _members_of_tar(data: bytes) -> list[Member]:
    members = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for info in archive:
            if not (info.isfile() or info.isdir()):
                raise ValueError(f"{info.name!r} is a link or a device")
            path = _clean_path(info.name)
            members.append(Member(path, archive.extractfile(info).read() if info.isfile()
                                  else None))
    return members


def repack(filename: str, data: bytes) -> bytes:
    """A clean tar of the upload's files and directories; `ValidationFailed` when unsafe."""
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            members = _members_of_zip(data)
        else:
            members = _members_of_tar(data)
    except (ValueError, tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValidationFailed({"archive": [f"{filename}: {error}"]}) from error
    files = [m for m in members if m.data is not None and m.path != "."]
    if not files:
        raise ValidationFailed({"archive": [f"{filename} holds no files."]})
    if len(members) > MAX_FILES or sum(len(m.data) for m in files) > MAX_TOTAL_BYTES:
        raise ValidationFailed({"archive": [
            f"At most {MAX_FILES} files and {MAX_TOTAL_BYTES // 2**20} MiB unpacked."]})
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for member in members:
            if member.path == ".":
                continue
            info = tarfile.TarInfo(member.path)
            if member.data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size, info.mode = len(member.data), 0o644
                archive.addfile(info, io.BytesIO(member.data))
    return out.getvalue()


def deploy_content(actor: Actor, site_id, *, filename: str, data: bytes) -> Operation:
    """Validate an uploaded archive and enqueue unpacking it into the site's web root."""
    site = get_or_not_found(Site, site_id, "Site")
    if site.deleted_at is not None:
        raise NotFound("Site not found.")
    actor.require("sites:write")
    if not current_site_types()[site.type].accepts_content:
        raise Conflict(f"{site.type} sites are deployed by their own means, not by upload.")
    if site.status not in ("active", "suspended"):
        raise Conflict(f"Content can be uploaded to an active site; this one is {site.status}.")
    archive = repack(filename, data)
    audit.record(actor, "site.content_uploaded", site, filename=filename, bytes=len(data))
    return start_operation(actor, site, "deploy_content", payload=archive)
