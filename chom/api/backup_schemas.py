"""Request and response schemas of /sites/{id}/backups."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from chom.api.schemas import Domain, OperationOut, PageMeta, SiteOut, StrictSchema


class BackupPartOut(ma.Schema):
    name = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class BackupOut(ma.Schema):
    id = fields.UUID()
    site_id = fields.UUID()
    status = fields.String(metadata={"description": "pending, running, succeeded or failed"})
    trigger = fields.String(metadata={"description": "manual or scheduled"})
    size_bytes = fields.Integer()
    checksum = fields.String(allow_none=True, metadata={
        "description": "`sha256:` of the parts' names and SHA-256 sums"})
    parts = fields.List(fields.Nested(BackupPartOut))
    error = fields.String(allow_none=True)
    operation_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class BackupDetail(BackupOut):
    download_urls = fields.Dict(
        keys=fields.String(), values=fields.String(), allow_none=True,
        metadata={"description": "a time-limited link per part (members and up, S3 storage)"})
    download_expires_in = fields.Integer(allow_none=True)


class BackupList(ma.Schema):
    data = fields.List(fields.Nested(BackupOut))
    meta = fields.Nested(PageMeta)


class BackupEnvelope(ma.Schema):
    data = fields.Nested(BackupOut)
    meta = fields.Dict(metadata={"description": "`operation_id` of the backup run"})


class RestoreTarget(StrictSchema):
    domain = Domain(required=True)
    vps = fields.String(validate=validate.Length(1, 100), metadata={
        "description": "the VPS's name (default: the one with the most room)"})


class RestoreIn(StrictSchema):
    target = fields.Nested(RestoreTarget, load_default=None, metadata={
        "description": "restore into a new site (a clone) instead of the backup's own site"})


class RestoreAccepted(ma.Schema):
    data = fields.Nested(OperationOut)
    site = fields.Nested(SiteOut)
