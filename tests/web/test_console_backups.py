"""The console's backups page of a site: back up now, download, restore into the site (typed
confirmation) or into a new site, delete; roles and other organizations."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest

from tests.web.test_console_billing import _member_browser
from tests.web.test_console_team import _flash, _log_in


def _site(owner, domain="kept.example.com") -> str:
    created = owner.create_site(domain)
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    return created.json["data"]["id"]


def _backups(owner, site_id) -> list[dict]:
    return owner.get(f"/api/v1/sites/{site_id}/backups").json["data"]


def _wait_backed_up(owner, site_id, count=1, timeout=30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while [b["status"] for b in _backups(owner, site_id)].count("succeeded") < count:
        assert time.monotonic() < deadline, _backups(owner, site_id)
        time.sleep(0.1)
    return _backups(owner, site_id)


def test_back_up_download_restore_and_delete_from_the_console(clean_app, register, local_vps):
    owner = register("Kept")
    site_id = _site(owner)
    browser = _log_in(clean_app.test_client(), owner.email)
    site_page = browser.get(f"/sites/{site_id}").get_data(True)
    assert f'href="/sites/{site_id}/backups"' in site_page  # the site's Backups tab
    page = browser.get(f"/sites/{site_id}/backups")
    assert page.status_code == 200 and "No backup yet." in page.get_data(True)

    started = browser.post(f"/sites/{site_id}/backups", follow_redirects=True)
    assert "Backup started" in _flash(started)
    (backup,) = _wait_backed_up(owner, site_id)
    page = browser.get(f"/sites/{site_id}/backups")
    html = page.get_data(True)
    assert "succeeded" in html
    links = re.findall(r'href="([^"]*/backup-downloads/[^"]+)"', html)
    assert len(links) == len(backup["parts"]) > 0
    downloaded = [browser.get(unescape(link)) for link in links]
    assert all(d.status_code == 200 for d in downloaded)
    assert sum(len(d.data) for d in downloaded) == backup["size_bytes"]

    # Restoring over the site needs its domain typed; a wrong one is refused inline.
    wrong = browser.post(f"/sites/{site_id}/backups/{backup['id']}/restore",
                         data={"mode": "inplace", "confirm": "nope.example.com"})
    assert wrong.status_code == 422 and "Type kept.example.com" in wrong.get_data(True)
    restored = browser.post(f"/sites/{site_id}/backups/{backup['id']}/restore",
                            data={"mode": "inplace", "confirm": "kept.example.com"})
    assert restored.status_code == 302 and restored.location.endswith(f"/sites/{site_id}")

    # Into a new site: a bad domain is refused inline, keeping what was typed.
    bad = browser.post(f"/sites/{site_id}/backups/{backup['id']}/restore",
                       data={"mode": "clone", "domain": "not a domain"})
    assert bad.status_code == 422 and 'value="not a domain"' in bad.get_data(True)
    cloned = browser.post(f"/sites/{site_id}/backups/{backup['id']}/restore",
                          data={"mode": "clone", "domain": "copy.example.com"})
    assert cloned.status_code == 302
    domains = {s["domain"] for s in owner.get("/api/v1/sites").json["data"]}
    assert "copy.example.com" in domains

    # Once the restores are done, the backup can be deleted.
    deadline = time.monotonic() + 30
    while True:
        deleted = browser.post(f"/sites/{site_id}/backups/{backup['id']}/delete",
                               follow_redirects=True)
        if "Backup deleted." in _flash(deleted):
            break
        assert time.monotonic() < deadline, _flash(deleted)
        time.sleep(0.2)
    assert _backups(owner, site_id) == []


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_roles_see_only_what_they_may_do(clean_app, register, local_vps, role):
    owner = register("Roles")
    site_id = _site(owner)
    owner.post(f"/api/v1/sites/{site_id}/backups")
    (backup,) = _wait_backed_up(owner, site_id)
    browser = _member_browser(clean_app, owner, role)
    page = browser.get(f"/sites/{site_id}/backups")
    html = page.get_data(True)
    assert page.status_code == 200 and "succeeded" in html
    assert ("Back up now" in html) is (role == "member")
    assert ("/backup-downloads/" in html) is (role == "member")
    assert "Delete</button>" not in html  # admins and owners only
    assert browser.post(f"/sites/{site_id}/backups/{backup['id']}/delete").status_code == 403
    if role == "viewer":
        assert browser.post(f"/sites/{site_id}/backups").status_code == 403
        assert browser.post(f"/sites/{site_id}/backups/{backup['id']}/restore", data={
            "mode": "clone", "domain": "v.example.com"}).status_code == 403


def test_another_organizations_site_is_404(clean_app, register, local_vps):
    owner, other = register("Mine"), register("Theirs")
    site_id = _site(owner)
    browser = _log_in(clean_app.test_client(), other.email)
    assert browser.get(f"/sites/{site_id}/backups").status_code == 404
    assert browser.post(f"/sites/{site_id}/backups").status_code == 404
    assert _backups(owner, site_id) == []
