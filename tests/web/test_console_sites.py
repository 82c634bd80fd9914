"""Console site pages: create with inline errors, live progress, role-aware actions."""

import time

from tests.conftest import PASSWORD
from tests.members import add_member


def _log_in(client, email, password=PASSWORD):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302


def _wait_for(client, site_id, text, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fragment = client.get(f"/sites/{site_id}/progress").get_data(as_text=True)
        if text in fragment:
            return fragment
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared")


def test_create_shows_errors_inline_keeps_input_then_progress_reaches_done(clean_app,
                                                                          register, local_vps):
    owner = register("Console Co")
    browser = clean_app.test_client()
    _log_in(browser, owner.email)
    page = browser.get("/sites/new").get_data(as_text=True)
    assert 'for="domain"' in page and "Static HTML" in page and "WordPress" in page

    bad = browser.post("/sites/new", data={"domain": "not a domain", "type": "html"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'class="field-error"' in text and 'value="not a domain"' in text
    assert 'aria-invalid="true"' in text

    created = browser.post("/sites/new", data={"domain": "Console.Example.com", "type": "html"})
    assert created.status_code == 302
    site_path = created.headers["Location"]
    site_id = site_path.rsplit("/", 1)[-1]
    site_page = browser.get(site_path).get_data(as_text=True)
    assert "console.example.com" in site_page and "is being provisioned" in site_page
    done = _wait_for(browser, site_id, "Provision: succeeded")
    assert "Step 4 of 4" in done and "hx-trigger" not in done  # polling stops when done
    assert '<progress max="4" value="4">' in done


def test_actions_and_typed_confirmation_for_delete(clean_app, register, local_vps):
    owner = register("Console Co")
    created = owner.create_site("act.example.com")
    site_id = created.json["data"]["id"]
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    browser = clean_app.test_client()
    _log_in(browser, owner.email)
    page = browser.get(f"/sites/{site_id}").get_data(as_text=True)
    assert "Suspend" in page and "Delete site" in page
    # An HTML site has nothing to deploy: no button, and a clear refusal when asked anyway.
    assert f"/sites/{site_id}/deploy" not in page
    refused = browser.post(f"/sites/{site_id}/deploy", follow_redirects=True)
    assert "has nothing to deploy" in refused.get_data(as_text=True)
    assert "Push to deploy" not in page
    no_hook = browser.post(f"/sites/{site_id}/deploy-hook", follow_redirects=True)
    assert "has nothing to deploy" in no_hook.get_data(as_text=True)

    suspended = browser.post(f"/sites/{site_id}/suspend", follow_redirects=True)
    assert "Suspending: act.example.com" in suspended.get_data(as_text=True)
    _wait_for(browser, site_id, "Suspend: succeeded")

    wrong = browser.post(f"/sites/{site_id}/delete", data={"confirm": "nope"},
                         follow_redirects=True)
    assert "Type act.example.com to confirm" in wrong.get_data(as_text=True)
    assert owner.get(f"/api/v1/sites/{site_id}").json["data"]["status"] == "suspended"
    deleted = browser.post(f"/sites/{site_id}/delete", data={"confirm": "ACT.example.com"})
    assert deleted.status_code == 302 and deleted.headers["Location"].endswith("/dashboard")
    assert owner.get(f"/api/v1/sites/{site_id}").json["data"]["status"] in ("deleting",
                                                                          "deleted")


def test_viewer_sees_no_buttons_and_is_refused_server_side(clean_app, register, local_vps):
    owner = register("Console Co")
    site_id = owner.create_site("view.example.com").json["data"]["id"]
    viewer = add_member(clean_app, owner, "viewer")
    browser = clean_app.test_client()
    with clean_app.app_context():
        from sqlalchemy import select

        from chom.extensions import db
        from chom.models import User
        from chom.services import accounts

        user = db.session.scalar(select(User).where(User.id == viewer["user_id"]))
        user.password_hash = accounts.hash_password(PASSWORD)
        email = user.email
        db.session.commit()
    _log_in(browser, email)
    page = browser.get(f"/sites/{site_id}").get_data(as_text=True)
    assert "view.example.com" in page
    assert "Delete site" not in page and "Suspend" not in page
    assert browser.post(f"/sites/{site_id}/suspend").status_code == 403
    assert browser.post(f"/sites/{site_id}/delete",
                        data={"confirm": "view.example.com"}).status_code == 403
    assert "cannot create sites" in browser.get("/sites/new").get_data(as_text=True)


def test_another_tenants_site_page_is_404_and_htmx_is_served(clean_app, register, local_vps):
    owner, other = register("Console Co"), register("Other Co")
    site_id = owner.create_site("mine.example.com").json["data"]["id"]
    browser = clean_app.test_client()
    _log_in(browser, other.email)
    assert browser.get(f"/sites/{site_id}").status_code == 404
    assert browser.get(f"/sites/{site_id}/progress").status_code == 404
    assert browser.post(f"/sites/{site_id}/suspend").status_code == 404
    script = browser.get("/assets/vendor/htmx/htmx.min.js")
    assert script.status_code == 200 and b"htmx" in script.data[:2000]


def test_member_manages_but_cannot_delete(clean_app, register, local_vps):
    from tests.web.console import member_client

    owner = register("Console Co")
    created = owner.create_site("member.example.com")
    site_id = created.json["data"]["id"]
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    member, _ = member_client(clean_app, owner, "member")
    page = member.get(f"/sites/{site_id}").get_data(as_text=True)
    assert "Suspend" in page and "Delete site" not in page
    assert member.post(f"/sites/{site_id}/delete",
                       data={"confirm": "member.example.com"}).status_code == 403
    admin, _ = member_client(clean_app, owner, "admin")
    assert "Delete site" in admin.get(f"/sites/{site_id}").get_data(as_text=True)
