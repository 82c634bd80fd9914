"""Backups of real sites on the test fleet, streamed over SSH into moto's S3 server by a real
rq worker: restore after breaking the site, restore into a clone on the other VPS, and a
transfer cut mid-stream that leaves nothing counted."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from chom.extensions import db
from chom.models import Tenant
from chom.services import fleet as fleet_service
from chom.services.backups import storage_used
from tests.s3_server import moto_s3  # noqa: F401  (session fixture)
from tests.workers import RqWorkers

POST_TITLE = "Backed-up post 7f3a"
WORDPRESS = {"site_title": "Fleet Blog", "admin_user": "editor",
             "admin_email": "editor@example.com", "admin_password": "a long admin passphrase"}


@pytest.fixture(scope="module")
def bucket(moto_s3):  # noqa: F811
    return moto_s3.new_bucket()


@pytest.fixture(scope="module")
def rq_workers(app, tmp_path_factory, moto_s3, bucket):  # noqa: F811
    """The rq-mode app and two worker processes (a backup occupies one while it streams),
    all storing backups in the moto bucket."""
    settings = moto_s3.settings(bucket)
    workers = RqWorkers(tmp_path_factory.mktemp("rq-backups"), extra_env=settings,
                        CHOM_JOB_RETRY_INTERVALS=[1, 1], **settings)
    workers.start(2)
    try:
        yield workers
    finally:
        workers.stop()


@pytest.fixture
def made_sites(fleet):
    """Sites a test made, deleted (deprovisioned) at its end: later tests expect a clean
    fleet (no databases, web roots or server blocks left behind)."""
    made: list[tuple] = []
    yield made
    fleet.ensure_running()  # a test may have cut SSH
    for account, site_id in made:
        response = account.delete(f"/api/v1/sites/{site_id}")
        assert response.status_code == 202, response.json
        deleted = account.wait_for_operation(response.json["data"]["id"], timeout=120)
        assert deleted["status"] == "succeeded", deleted["log"]


def _add(app, host, **commands) -> str:
    settings = {**host.profile, "ssh_key_path": host.client_key_path}
    settings["commands"] = {**settings["commands"], **commands}
    with app.app_context():
        return fleet_service.add_vps(**host.add_vps_kwargs(settings=settings)).name


def _get(host, domain, path="/"):
    return requests.get(f"{host.http_url}{path}", headers={"Host": domain}, timeout=20,
                        allow_redirects=False)


def _succeeded(account, operation_id, timeout=240) -> dict:
    operation = account.wait_for_operation(operation_id, timeout=timeout)
    assert operation["status"] == "succeeded", operation["log"]
    return operation


def _wordpress_site(account, domain):
    created = account.create_site(domain, type="wordpress", options=WORDPRESS)
    assert created.status_code == 202, created.json
    _succeeded(account, created.json["meta"]["operation_id"])
    site = created.json["data"]
    site = account.get(f"/api/v1/sites/{site['id']}").json["data"]
    return site, f"chom_{site['id'].replace('-', '')[:12]}"


def _back_up(account, site_id) -> dict:
    response = account.post(f"/api/v1/sites/{site_id}/backups")
    assert response.status_code == 202, response.json
    _succeeded(account, response.json["meta"]["operation_id"])
    return account.get(f"/api/v1/sites/{site_id}/backups/{response.json['data']['id']}"
                       ).json["data"]


def _usage(app, account) -> int:
    with app.app_context():
        return storage_used(db.session.get(Tenant, uuid.UUID(account.tenant_id)))


def test_wordpress_backup_restores_a_broken_site_and_clones_onto_the_other_vps(
        app, clean_app, fleet, register, moto_s3, bucket, made_sites):  # noqa: F811
    for host in fleet.hosts:
        _add(clean_app, host)
    account = register("Backup Press")
    site, database = _wordpress_site(account, "blog.example.com")
    made_sites.append((account, site["id"]))
    host = next(h for h in fleet.hosts if h.name == site["vps"]["name"])
    other = next(h for h in fleet.hosts if h is not host)
    host.sql(f"UPDATE {database}.wp_posts SET post_title = '{POST_TITLE}' WHERE ID = 1")
    assert POST_TITLE in _get(host, "blog.example.com").text

    backup = _back_up(account, site["id"])
    assert [p["name"] for p in backup["parts"]] == ["database.sql", "webroot.tar.gz"]
    dump = requests.get(backup["download_urls"]["database.sql"], timeout=20)
    assert dump.status_code == 200 and POST_TITLE.encode() in dump.content
    assert _usage(clean_app, account) == backup["size_bytes"] > 0

    # Break it: a table dropped, a file deleted.
    host.sql(f"DROP TABLE {database}.wp_posts")
    host.path("var/www/blog.example.com/index.php").unlink()
    assert POST_TITLE not in _get(host, "blog.example.com").text

    restored = account.post(f"/api/v1/sites/{site['id']}/backups/{backup['id']}/restore",
                            json={})
    assert restored.status_code == 202, restored.json
    _succeeded(account, restored.json["data"]["id"])
    page = _get(host, "blog.example.com")
    assert page.status_code == 200 and POST_TITLE in page.text

    # A clone on the other VPS, with its own domain and its URLs rewritten.
    cloned = account.post(f"/api/v1/sites/{site['id']}/backups/{backup['id']}/restore",
                          json={"target": {"domain": "staging.example.net",
                                           "vps": other.name}})
    assert cloned.status_code == 202, cloned.json
    clone = cloned.json["site"]
    made_sites.append((account, clone["id"]))
    assert clone["vps"]["name"] == other.name
    _succeeded(account, cloned.json["data"]["id"])
    clone_database = f"chom_{clone['id'].replace('-', '')[:12]}"
    assert other.sql(f"SELECT option_value FROM {clone_database}.wp_options "
                     "WHERE option_name = 'home'").strip() == "http://staging.example.net"
    page = _get(other, "staging.example.net")
    assert page.status_code == 200 and POST_TITLE in page.text
    assert "//staging.example.net" in page.text and "//blog.example.com" not in page.text
    # The original still serves from its own VPS, untouched.
    assert POST_TITLE in _get(host, "blog.example.com").text


def test_a_transfer_cut_mid_stream_leaves_nothing_counted(
        app, clean_app, fleet, register, moto_s3, bucket, made_sites):  # noqa: F811
    host = fleet.hosts[0]
    # The web root's archive is written whole, then its command hangs: the stream is
    # certainly in flight (the database part already stored) when the connection drops.
    _add(clean_app, host, tar=["bash", "-c", 'tar "$@"; sleep 120', "slow-tar"])
    account = register("Cut Co")
    created = account.create_site("cut.example.com", options={"index_html": "<p>cut</p>"})
    _succeeded(account, created.json["meta"]["operation_id"])
    site_id = created.json["data"]["id"]
    made_sites.append((account, site_id))
    before = set(moto_s3.keys(bucket))

    response = account.post(f"/api/v1/sites/{site_id}/backups")
    assert response.status_code == 202
    backup_id = response.json["data"]["id"]
    deadline = time.monotonic() + 60
    while not any(u["Key"].endswith(f"backup-{backup_id}/webroot.tar.gz")
                  for u in moto_s3.multipart_uploads(bucket)):
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.05)
    # The backup holds no VPS lock: another site on the same VPS provisions meanwhile.
    other = account.create_site("meanwhile.example.com")
    assert other.status_code == 202
    made_sites.append((account, other.json["data"]["id"]))
    _succeeded(account, other.json["meta"]["operation_id"], timeout=60)
    assert account.get(f"/api/v1/sites/{site_id}/backups/{backup_id}"
                       ).json["data"]["status"] == "running"
    host.kill_sshd(drop_sessions=True)

    operation = account.wait_for_operation(response.json["meta"]["operation_id"], timeout=120)
    assert operation["status"] == "failed", operation["log"]
    backup = account.get(f"/api/v1/sites/{site_id}/backups/{backup_id}").json["data"]
    assert backup["status"] == "failed" and backup["size_bytes"] == 0
    assert backup["parts"] == [] and backup["download_urls"] is None
    assert set(moto_s3.keys(bucket)) == before  # nothing of it stored
    assert not [u for u in moto_s3.multipart_uploads(bucket) if backup_id in u["Key"]]
    assert _usage(clean_app, account) == 0


def test_a_backup_whose_worker_dies_mid_stream_is_resumed_whole(clean_app, fleet, tmp_path,
                                                                moto_s3, bucket):  # noqa: F811
    host = fleet.hosts[0]
    # The first archive hangs once written (its worker is killed then); the resumed one does not.
    marker = host.path("var/lib/chom-tar-slowed-once")
    marker.unlink(missing_ok=True)
    _add(clean_app, host, tar=["bash", "-c", f'tar "$@" || exit; [ -e {marker} ] && exit; '
                                             f'touch {marker}; sleep 120', "slow-tar-once"])
    settings = moto_s3.settings(bucket)
    workers = RqWorkers(tmp_path, extra_env=settings, CHOM_SITE_LOCK_TTL=3, **settings)
    workers.start(1)
    account = workers.account("Resume Co")
    site_id = None
    try:
        created = account.create_site("resumed.example.com", options={"index_html": "<p>r</p>"})
        site_id = created.json["data"]["id"]
        _succeeded(account, created.json["meta"]["operation_id"])
        response = account.post(f"/api/v1/sites/{site_id}/backups")
        backup_id, operation_id = response.json["data"]["id"], response.json["meta"][
            "operation_id"]
        deadline = time.monotonic() + 60
        while not any(backup_id in u["Key"] for u in moto_s3.multipart_uploads(bucket)):
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.05)

        workers.kill_all()  # mid-stream: nothing of the job's clean-up runs
        assert account.get(f"/api/v1/operations/{operation_id}").json["data"]["status"] \
            == "running"
        workers.start(1)
        runner = workers.app.test_cli_runner()
        deadline = time.monotonic() + 30
        while "1 operation(s) resumed" not in (output := runner.invoke(
                args=["chom", "reconcile", "--check-only"]).output):
            assert time.monotonic() < deadline, output  # the dead job's lock must expire
            time.sleep(0.5)
        operation = _succeeded(account, operation_id, timeout=120)
        assert "resumed" in operation["log"]

        backup = account.get(f"/api/v1/sites/{site_id}/backups/{backup_id}").json["data"]
        assert backup["status"] == "succeeded" and len(backup["parts"]) == 1
        # One object, whole, and no upload of the killed run left open.
        assert [k for k in moto_s3.keys(bucket) if backup_id in k] == \
            [f"{_prefix_of(account, site_id, backup_id)}/webroot.tar.gz"]
        assert not [u for u in moto_s3.multipart_uploads(bucket) if backup_id in u["Key"]]
        body = requests.get(backup["download_urls"]["webroot.tar.gz"], timeout=20).content
        assert len(body) == backup["size_bytes"]
    finally:
        if site_id:
            deleted = account.delete(f"/api/v1/sites/{site_id}")
            account.wait_for_operation(deleted.json["data"]["id"], timeout=120)
        workers.stop()


def _prefix_of(account, site_id, backup_id) -> str:
    return (f"org-{account.organization_id}/tenant-{account.tenant_id}/site-{site_id}/"
            f"backup-{backup_id}")
