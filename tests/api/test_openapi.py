"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document describing every endpoint."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from chom.services.accounts import MIN_PASSWORD_LENGTH

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
    assert schema["properties"]["password"]["minLength"] == MIN_PASSWORD_LENGTH


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


def test_error_responses_are_documented_as_problem_json(spec):
    responses = spec["components"]["responses"]
    assert {"DEFAULT_ERROR", "UNPROCESSABLE_ENTITY"} <= set(responses)
    for name, response in responses.items():
        assert set(response["content"]) == {"application/problem+json"}, name


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method.upper() in HTTP_METHODS:
                yield path, method.upper(), operation.get("security", spec["security"])


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0b7f4c5e-4a4e-4c36-9d0f-3f5f1a2b9c10", path)


def test_every_operation_needing_a_token_refuses_without_one_before_reading_input(app, spec):
    """Authentication comes first and in one place: a bogus body without a token is a 401,
    never a 422 that would parse input for nobody; the operations documented as answering
    without an API token are exactly those that do."""
    client = app.test_client()
    secured, open_ = [], []
    for path, method, security in _operations(spec):
        body = {"json": {"bogus": 1}} if method in {"POST", "PUT", "PATCH"} else {}
        answered = client.open(_concrete(path), method=method, **body)
        assert answered.status_code != 500, f"{method} {path}"
        if {"bearerAuth": []} in security and {} not in security:
            assert answered.status_code == 401, f"{method} {path}: {answered.status_code}"
            assert answered.json["type"].endswith("/not-authenticated")
            assert answered.headers["WWW-Authenticate"] == "Bearer"
            secured.append(path)
        elif security == [{"alertmanagerToken": []}]:
            assert answered.status_code == 401, f"{method} {path}"  # its own secret
        else:
            assert answered.status_code != 401, f"{method} {path} documents no token needed"
            open_.append(path)
    assert len(secured) > 40 and len(open_) == 11
