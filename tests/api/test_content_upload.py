"""Uploading site content: validated archives are unpacked into the web root, nothing else."""

import io
import tarfile
import zipfile

import pytest


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _tar(build) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        build(archive)
    return out.getvalue()


def _add(archive, name, data=b"x", **kwargs):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in kwargs.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data) if info.isfile() else None)


def _upload(account, site_id, data: bytes, filename="site.zip"):
    return account.post(f"/api/v1/sites/{site_id}/content",
                        data={"archive": (io.BytesIO(data), filename)},
                        content_type="multipart/form-data")


@pytest.fixture
def html_site(register, local_vps):
    account = register("Upload Co")
    created = account.create_site("upload.example.com")
    assert account.wait_for_operation(created.json["meta"]["operation_id"])["status"] \
        == "succeeded"
    return account, created.json["data"]["id"], local_vps["root"] / "var/www/upload.example.com"


def test_a_zip_is_unpacked_into_the_web_root_and_survives_provisioning(html_site):
    account, site_id, web_root = html_site
    archive = _zip({"index.html": b"<h1>Uploaded</h1>", "img/logo.png": b"\x89PNG\x00\x01",
                    "css/": b""})
    response = _upload(account, site_id, archive)
    assert response.status_code == 202 and response.json["data"]["kind"] == "deploy_content"
    assert account.wait_for_operation(response.json["data"]["id"])["status"] == "succeeded"
    assert (web_root / "index.html").read_text() == "<h1>Uploaded</h1>"
    assert (web_root / "img/logo.png").read_bytes() == b"\x89PNG\x00\x01"
    # Re-applying the provision plan keeps the uploaded page (the default is written only
    # when index.html is missing).
    suspended = account.post(f"/api/v1/sites/{site_id}/suspend").json["data"]
    account.wait_for_operation(suspended["id"])
    resumed = account.post(f"/api/v1/sites/{site_id}/resume").json["data"]
    account.wait_for_operation(resumed["id"])
    retried = account.get(f"/api/v1/sites/{site_id}").json["data"]
    assert retried["status"] == "active"
    assert (web_root / "index.html").read_text() == "<h1>Uploaded</h1>"


@pytest.mark.parametrize("archive, why", [
    (_zip({"../escape.html": b"x"}), "leaves the web root"),
    (_zip({"/etc/passwd": b"x"}), "leaves the web root"),
    (_zip({"a/../../b": b"x"}), "leaves the web root"),
    (_tar(lambda a: _add(a, "link", type=tarfile.SYMTYPE, linkname="/etc/passwd")),
     "link or a device"),
    (_tar(lambda a: _add(a, "hard", type=tarfile.LNKTYPE, linkname="index.html")),
     "link or a device"),
    (_tar(lambda a: _add(a, "../../x.html")), "leaves the web root"),
    (b"not an archive at all", "site.zip"),
    (_zip({}), "no files"),
])
def test_unsafe_or_broken_archives_are_422_and_touch_nothing(html_site, archive, why):
    account, site_id, web_root = html_site
    before = sorted(p.name for p in web_root.iterdir())
    response = _upload(account, site_id, archive)
    assert response.status_code == 422, response.json
    assert why in " ".join(response.json["errors"]["archive"])
    assert sorted(p.name for p in web_root.iterdir()) == before
    assert not (web_root.parent / "escape.html").exists()


def test_only_site_types_that_take_uploads_accept_them(register, local_vps):
    account = register("Press Co")
    wp = account.create_site("wp-upload.example.com", type="wordpress").json["data"]
    response = _upload(account, wp["id"], _zip({"index.html": b"x"}))
    assert response.status_code == 409


def test_missing_file_field_is_422(html_site):
    account, site_id, _ = html_site
    response = account.post(f"/api/v1/sites/{site_id}/content", data={},
                            content_type="multipart/form-data")
    assert response.status_code == 422 and "archive" in response.json["errors"]


def test_a_request_over_the_size_limit_is_413(html_site, clean_app):
    account, site_id, _ = html_site
    limit = clean_app.config["MAX_CONTENT_LENGTH"]
    clean_app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = _upload(account, site_id, _zip({"big.bin": b"0" * 4096}))
    finally:
        clean_app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
