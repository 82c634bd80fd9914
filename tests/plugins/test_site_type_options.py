"""Each site type's options schema: a valid JSON Schema 2020-12 that accepts and refuses
what it should."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

VALID = {
    "html": [{}, {"index_html": "<h1>Hi</h1>"}, {"index_html": ""}],
    "wordpress": [
        {},
        {"site_title": "Acme"},
        {"admin_email": "a@example.com", "admin_password": "correct horse battery"},
        {
            "site_title": "Acme's blog",
            "admin_user": "editor.1",
            "admin_email": "a@example.com",
            "admin_password": "correct horse battery",
        },
    ],
    "laravel": [
        {},
        {"git_url": "https://github.com/acme/shop.git"},
        {"git_url": "http://10.231.0.1:8080/app.git", "git_ref": "main"},
        {"git_url": "git@github.com:acme/shop.git", "git_ref": "release/1.2"},
        {"git_url": "ssh://git@example.org/acme/shop.git", "git_ref": "v1.2.0"},
    ],
}

INVALID = {
    "html": [
        {"index_html": 42},
        {"index_html": "x" * (1_048_576 + 1)},
        {"content": "<h1>Hi</h1>"},
    ],
    "wordpress": [
        {"admin_email": "a@example.com"},
        {"admin_password": "correct horse battery"},
        {"admin_user": "editor"},
        {"admin_email": "not-an-email", "admin_password": "correct horse battery"},
        {"admin_email": "a@example.com", "admin_password": "short"},
        {"admin_user": "bad user", "admin_email": "a@x.org", "admin_password": "long enough 1"},
        {"site_title": ""},
        {"db_name": "other"},
    ],
    "laravel": [
        {"git_ref": "main"},
        {"git_url": "file:///var/www/other-site"},
        {"git_url": "/var/www/other-site"},
        {"git_url": "--upload-pack=touch /tmp/x"},
        {"git_url": "https://example.org/a.git; rm -rf /"},
        {"git_url": "https://example.org/$(id).git"},
        {"git_url": "ext::sh -c touch% /tmp/x"},
        {"git_url": "https://example.org/a.git", "git_ref": "--upload-pack=x"},
        {"git_url": "https://example.org/a.git", "git_ref": "main branch"},
        {"git_url": 7},
        {"repository": "https://example.org/a.git"},
    ],
}


@pytest.mark.parametrize("type_name", sorted(VALID))
def test_options_schema_is_a_closed_2020_12_schema(site_types, type_name):
    schema = site_types[type_name].options_schema
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("type_name", "options"),
    [(name, options) for name, examples in VALID.items() for options in examples],
)
def test_schema_accepts(site_types, type_name, options):
    Draft202012Validator(site_types[type_name].options_schema).validate(options)


@pytest.mark.parametrize(
    ("type_name", "options"),
    [(name, options) for name, examples in INVALID.items() for options in examples],
)
def test_schema_refuses(site_types, type_name, options):
    assert not Draft202012Validator(site_types[type_name].options_schema).is_valid(options)
