"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document describing every endpoint."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

OPENAPI_ENDPOINT = "api-docs.openapi_json"
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        assert node["$ref"].startswith("#/")
        target = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _request_schema(spec: dict, path: str, method: str) -> tuple[str, dict]:
    body = spec["paths"][path][method]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert "$ref" in schema, "request bodies are named component schemas"
    return schema["$ref"], _resolve(spec, schema)


def test_document_is_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"]
    assert spec["info"]["version"]


def test_document_validates(spec):
    validate(spec, cls=OpenAPIV31SpecValidator)  # raises on any violation
    validate(spec)  # and the validator picks 3.1 from the document itself


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != OPENAPI_ENDPOINT:
            yield rule


def test_every_api_rule_is_documented_with_its_methods(app, spec):
    rules = list(_api_rules(app))
    assert len(rules) >= 10  # the table in DESIGN.md, at least
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in spec["paths"], f"{rule.rule} is missing from the OpenAPI paths"
        documented = {method.upper() for method in spec["paths"][path]}
        served = set(rule.methods) & HTTP_METHODS
        assert served <= documented, f"{path}: {served - documented} undocumented"


def test_no_documented_path_is_imaginary(app, spec):
    served = {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule) for rule in _api_rules(app)}
    assert set(spec["paths"]) <= served


def test_site_creation_body_references_its_schema(spec):
    ref, schema = _request_schema(spec, "/api/v1/sites", "post")
    assert ref.startswith("#/components/schemas/")
    assert set(schema["required"]) == {"domain", "type"}
    assert {"domain", "type", "php_version", "options"} <= set(schema["properties"])
    assert spec["paths"]["/api/v1/sites"]["post"]["requestBody"]["required"] is True


def test_registration_body_references_its_schema(spec):
    ref, schema = _request_schema(spec, "/api/v1/auth/register", "post")
    assert ref.startswith("#/components/schemas/")
    assert set(schema["required"]) == {"organization", "name", "email", "password"}
    assert schema["properties"]["password"].get("writeOnly") is True


def test_strict_bodies_forbid_unknown_properties(spec):
    """The schemas reject unknown fields (422); the document should not promise otherwise."""
    _, schema = _request_schema(spec, "/api/v1/auth/register", "post")
    assert schema.get("additionalProperties") is False


def test_bearer_security_scheme(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert {"bearerAuth": []} in spec["security"]


def test_documented_responses_use_real_statuses(spec):
    create = spec["paths"]["/api/v1/sites"]["post"]["responses"]
    assert "202" in create and "422" in create
    register = spec["paths"]["/api/v1/auth/register"]["post"]["responses"]
    assert "201" in register
    health = spec["paths"]["/api/v1/health"]["get"]["responses"]
    assert {"200", "503"} <= set(health)
