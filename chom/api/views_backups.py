"""/sites/{id}/backups: on-demand backups, their download links, restores, deletion."""

from flask import current_app, send_file, url_for
from flask_smorest import Blueprint

from chom.api import backup_schemas as b
from chom.api import schemas as s
from chom.api.auth import current_actor, without_api_token
from chom.api.limits import api_limit
from chom.services import backups

blp = Blueprint("backups", __name__, url_prefix="/api/v1", description="Site backups")
api_limit(blp)

_BACKUP_FIELDS = tuple(b.BackupOut().fields)


@blp.route("/sites/<site_id>/backups", methods=["POST"])
@blp.response(202, b.BackupEnvelope)
def create_backup(site_id):
    """Back the site up now: its database dump and web root archive are streamed to backup
    storage by an Operation (202). A backup already under way is returned instead."""
    backup = backups.request_backup(current_actor(), site_id)
    return {"data": backup, "meta": {"operation_id": str(backup.operation_id)}}


@blp.route("/sites/<site_id>/backups", methods=["GET"])
@blp.arguments(s.PageArgs, location="query")
@blp.response(200, b.BackupList)
def list_backups(args, site_id):
    """The site's backups, newest first."""
    items, total = backups.list_backups(current_actor(), site_id, **args)
    return {"data": items, "meta": {**args, "total": total}}


@blp.route("/sites/<site_id>/backups/<backup_id>", methods=["GET"])
@blp.response(200, s.envelope(b.BackupDetail, "BackupDetailEnvelope"))
def show_backup(site_id, backup_id):
    """One backup, with a time-limited download link per part."""
    actor = current_actor()
    backup = backups.get_backup(actor, site_id, backup_id)
    urls = backups.download_urls(actor, backup, lambda token: url_for(
        "backups.download_backup_part", token=token, _external=True))
    detail = {name: getattr(backup, name) for name in _BACKUP_FIELDS}
    detail["download_urls"] = urls
    detail["download_expires_in"] = current_app.config["CHOM_BACKUP_URL_TTL"] if urls else None
    return {"data": detail}


@blp.route("/sites/<site_id>/backups/<backup_id>/restore", methods=["POST"])
@blp.arguments(b.RestoreIn)
@blp.response(202, b.RestoreAccepted)
def restore_backup(body, site_id, backup_id):
    """Restore the backup into its site, or with `target` into a new site (a clone with its
    own domain, on `target.vps` or the VPS with the most room); 202 with the Operation."""
    operation, site = backups.request_restore(current_actor(), site_id, backup_id,
                                              target=body.get("target"))
    return {"data": operation, "site": site}


@blp.route("/sites/<site_id>/backups/<backup_id>", methods=["DELETE"])
@blp.response(204)
def delete_backup(site_id, backup_id):
    """Delete the backup and its stored objects."""
    backups.delete_backup(current_actor(), site_id, backup_id)


@blp.route("/backup-downloads/<token>", methods=["GET"])
@without_api_token(blp)  # the signed token in its URL
@blp.doc(responses={"200": {"description": "the part's bytes"}})
def download_backup_part(token):
    """One part of a backup kept in the backup directory (no S3): the link in a backup's
    `download_urls`. The signed token is the credential, as a presigned S3 URL is, and
    expires after `CHOM_BACKUP_URL_TTL` seconds."""
    stream, name = backups.open_download(token)
    return send_file(stream, mimetype="application/octet-stream", as_attachment=True,
                     download_name=name)
