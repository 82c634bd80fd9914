"""The site-creation form: option fields generated from the site types' JSON schemas."""

from __future__ import annotations

from chom.web.option_fields import option_fields, read_options
from tests.web.console import log_in


def test_option_fields_follow_the_schema():
    schema = {"type": "object", "properties": {
        "index_html": {"type": "string", "maxLength": 5000, "description": "Page."},
        "admin_email": {"type": "string", "format": "email"},
        "admin_password": {"type": "string", "minLength": 12},
        "workers": {"type": "integer"},
        "debug": {"type": "boolean"},
    }, "required": ["workers"], "dependentRequired": {"admin_email": ["admin_password"]}}
    fields = {f.name: f for f in option_fields("demo", schema)}
    assert [f.widget for f in fields.values()] == ["textarea", "email", "password", "number",
                                                   "checkbox"]
    assert fields["index_html"].input_name == "options.demo.index_html"
    assert fields["index_html"].help == "Page."
    assert fields["admin_email"].help == "Needs admin password too."
    assert fields["admin_password"].help == "At least 12 characters."
    assert fields["workers"].required and not fields["debug"].required
    form = {"options.demo.index_html": "<p>hi</p>", "options.demo.admin_email": "",
            "options.demo.workers": "3", "options.demo.debug": "1",
            "options.other.index_html": "not mine"}
    assert read_options("demo", schema, form) == {"index_html": "<p>hi</p>", "workers": 3,
                                                  "debug": True}
    assert read_options("demo", schema, {"options.demo.workers": "three"}) == {
        "workers": "three"}  # passed on for the schema to reject


def test_each_type_gets_its_own_fields_and_php_choice(clean_app, register):
    owner = register("Form Co")
    client = clean_app.test_client()
    log_in(client, owner.email)
    page = client.get("/sites/new").get_data(as_text=True)
    # HTML is the default type: its content field, no PHP version.
    assert 'name="options.html.index_html"' in page and 'for="option-index_html"' in page
    assert 'id="php_version"' not in page
    assert 'hx-get="/sites/new/options"' in page  # the fields follow the chosen type
    wordpress = client.get("/sites/new/options?type=wordpress").get_data(as_text=True)
    for name in ("site_title", "admin_user", "admin_email", "admin_password"):
        assert f'name="options.wordpress.{name}"' in wordpress
    assert 'type="email"' in wordpress and 'type="password"' in wordpress
    assert '<option value="8.2" selected>' in wordpress  # the default PHP version
    laravel = client.get("/sites/new/options?type=laravel").get_data(as_text=True)
    assert 'name="options.laravel.git_url"' in laravel and "Needs git url too." in laravel


def test_option_errors_are_inline_and_keep_what_was_typed(clean_app, register, local_vps):
    owner = register("Form Co")
    client = clean_app.test_client()
    log_in(client, owner.email)
    bad = client.post("/sites/new", data={
        "domain": "wp.example.com", "type": "wordpress", "php_version": "8.3",
        "options.wordpress.site_title": "My blog",
        "options.wordpress.admin_password": "short",
        "options.wordpress.admin_email": "me@wp.example.com"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    errors = html.split('id="option-admin_password-errors">', 1)[1].split("</div>", 1)[0]
    assert 'class="field-error"' in errors and "short" in errors
    assert 'value="My blog"' in html and 'value="me@wp.example.com"' in html
    assert 'value="short"' not in html  # a password is never sent back
    assert '<option value="8.3" selected>' in html and 'value="wp.example.com"' in html


def test_html_content_option_reaches_the_site(clean_app, register, local_vps):
    owner = register("Form Co")
    client = clean_app.test_client()
    log_in(client, owner.email)
    created = client.post("/sites/new", data={
        "domain": "page.example.com", "type": "html",
        "options.html.index_html": "<h1>From the form</h1>"})
    assert created.status_code == 302
    site_id = created.headers["Location"].rsplit("/", 1)[-1]
    [operation] = owner.get(f"/api/v1/sites/{site_id}/operations").json["data"]
    assert owner.wait_for_operation(operation["id"])["status"] == "succeeded"
    pages = list(local_vps["root"].rglob("index.html"))
    assert any("From the form" in page.read_text() for page in pages)
