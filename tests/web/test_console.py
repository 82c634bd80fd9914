"""The web console: log-in form, dashboard of the tenant's sites, log-out, CSRF."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

import pytest

from chom import create_app
from tests.conftest import PASSWORD, base_config

BAD_LOGIN_MESSAGE = "That email and password do not match an account."


class FormParser(HTMLParser):
    """Collects <label for=...>, <input> and <form> attributes from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: dict[str, str] = {}
        self.inputs: list[dict] = []
        self.forms: list[dict] = []
        self._label_for: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "label":
            self._label_for = attributes.get("for")
            if self._label_for:
                self.labels[self._label_for] = ""
        elif tag == "input":
            self.inputs.append(attributes)
        elif tag == "form":
            self.forms.append(attributes)

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_for = None

    def handle_data(self, data):
        if self._label_for:
            self.labels[self._label_for] += data.strip()


def parse(response) -> FormParser:
    parser = FormParser()
    parser.feed(response.get_data(as_text=True))
    return parser


def _input(page: FormParser, name: str) -> dict:
    [found] = [i for i in page.inputs if i.get("name") == name]
    return found


def _log_in(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


# --- the log-in page --------------------------------------------------------------------------


def test_login_page_has_a_form_with_labelled_inputs(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = parse(response)
    assert any(form.get("method", "").lower() == "post" for form in page.forms)
    for name, kind in (("email", "email"), ("password", "password")):
        field = _input(page, name)
        assert field["type"] == kind
        assert "required" in field
        assert field.get("id") in page.labels, f"{name} has no <label for>"
        assert page.labels[field["id"]], f"{name}'s label is empty"


def test_root_sends_a_visitor_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


# --- logging in -------------------------------------------------------------------------------


def test_good_credentials_redirect_to_the_dashboard_listing_the_sites(
        client, register, local_vps):
    account = register("Console Co")
    created = account.create_site("console-site.example.com")
    assert created.status_code == 202, created.get_json()
    account.wait_for_operation(created.get_json()["meta"]["operation_id"])

    response = _log_in(client, account.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")

    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    html = dashboard.get_data(as_text=True)
    assert "console-site.example.com" in html
    assert "Console Co" in html  # the tenant's name heads the list
    assert "local-test" in html  # the VPS the site was placed on


def test_dashboard_shows_only_the_tenants_own_sites(client, register, local_vps):
    mine = register("Mine Co")
    theirs = register("Theirs Co")
    for account, domain in ((mine, "mine-site.example.com"), (theirs, "theirs-site.example.com")):
        created = account.create_site(domain)
        assert created.status_code == 202
        account.wait_for_operation(created.get_json()["meta"]["operation_id"])

    assert _log_in(client, mine.email).status_code == 302
    html = client.get("/dashboard").get_data(as_text=True)
    assert "mine-site.example.com" in html
    assert "theirs-site.example.com" not in html


def test_bad_credentials_answer_401_with_the_message_and_keep_the_email(client, register):
    account = register("Typo Co")
    response = _log_in(client, account.email, password="not the password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert BAD_LOGIN_MESSAGE in html
    assert _input(parse(response), "email")["value"] == account.email
    assert "not the password" not in html  # the password is never echoed
    assert client.get("/dashboard").status_code == 302  # and no session was opened


def test_unknown_email_gets_the_same_answer(client):
    response = _log_in(client, "nobody@nowhere.test")
    assert response.status_code == 401
    assert BAD_LOGIN_MESSAGE in response.get_data(as_text=True)


def test_dashboard_without_login_redirects_to_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert re.search(r"/login(\?|$)", response.headers["Location"])


# --- logging out ------------------------------------------------------------------------------


def test_logout_needs_post(client, register):
    account = register("Exit Co")
    assert _log_in(client, account.email).status_code == 302

    assert client.get("/logout").status_code == 405
    assert client.get("/dashboard").status_code == 200  # a GET logged nobody out

    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert client.get("/dashboard").status_code == 302


def test_dashboard_offers_logout_as_a_form_post(client, register):
    account = register("Form Co")
    _log_in(client, account.email)
    page = parse(client.get("/dashboard"))
    [logout_form] = [form for form in page.forms if form.get("action") == "/logout"]
    assert logout_form["method"].lower() == "post"


# --- CSRF -------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(app, tmp_path):
    """A separate app with CSRF protection on, as in production."""
    return create_app(base_config(tmp_path, WTF_CSRF_ENABLED=True))


def _register_via_api(test_client) -> str:
    email = f"csrf-{uuid.uuid4().hex[:10]}@console.test"
    response = test_client.post("/api/v1/auth/register", json={
        "organization": "Csrf Co", "name": "Owner", "email": email, "password": PASSWORD,
    })
    assert response.status_code == 201  # the API takes bearer tokens: no CSRF token needed
    return email


def test_login_without_csrf_token_is_refused_and_opens_no_session(csrf_app):
    client = csrf_app.test_client()
    email = _register_via_api(client)
    response = _log_in(client, email)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert client.get("/dashboard").status_code == 302


def test_login_with_a_wrong_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    email = _register_via_api(client)
    client.get("/login")
    response = _log_in(client, email, csrf_token="forged-token")
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_login_with_the_forms_csrf_token_works(csrf_app):
    client = csrf_app.test_client()
    email = _register_via_api(client)
    token = _input(parse(client.get("/login")), "csrf_token")["value"]
    assert token
    response = _log_in(client, email, csrf_token=token)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200


def test_logout_without_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    email = _register_via_api(client)
    token = _input(parse(client.get("/login")), "csrf_token")["value"]
    assert _log_in(client, email, csrf_token=token).status_code == 302
    assert client.post("/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200  # still logged in
