"""The OpenAPI document tells the truth about errors: every error an operation documents has the body the
server sends (ErrorBody), the errors every route can meet are documented on every route, and every request
body comes with an example."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from voc.app import create_app

ERROR_BODY = "#/components/schemas/ErrorBody"
BODY_METHODS = {"post", "put", "patch", "delete"}
# The widget's decision route (voc/api/embed.py) does not document its refusals yet; see
# test_the_exempt_operations_are_still_undocumented, which fails once it does, so the exemption goes.
EXEMPT: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # No lifespan and no request reaches the database: the document is built from the routes alone.
    answer = TestClient(create_app()).get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, item in document["paths"].items()
            for method, operation in item.items() if (method, path) not in EXEMPT]


def _errors(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {status: response for status, response in operation["responses"].items() if status[0] in "45"}


def _schema_of(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    name = schema["$ref"].rsplit("/", 1)[-1]
    return document["components"]["schemas"][name]


def test_error_body_is_what_the_server_sends(document):
    body = document["components"]["schemas"]["ErrorBody"]
    assert body["required"] == ["error"]
    info = _schema_of(document, body["properties"]["error"])
    assert info["properties"]["code"]["type"] == "string"
    assert info["properties"]["message"]["type"] == "string"
    assert set(info["required"]) == {"code", "message"}  # details only when there is something to say
    assert "details" in info["properties"]


def test_every_documented_error_has_the_error_body(document):
    wrong = [(method.upper(), path, status) for method, path, operation in _operations(document)
             for status, response in _errors(operation).items()
             if response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref") != ERROR_BODY]
    assert wrong == []


def test_fastapis_validation_error_shape_is_documented_nowhere(document):
    users = [(method.upper(), path) for method, path, operation in _operations(document)
             if "HTTPValidationError" in str(operation)]
    assert users == []


def test_every_api_operation_documents_the_errors_every_route_can_meet(document):
    missing = []
    for method, path, operation in _operations(document):
        if not path.startswith("/api/v1/"):
            continue
        expected = {"422", "503"}  # NUL in the URL (invalid_text) or a bad parameter; a busy database
        if operation.get("security"):
            expected |= {"401", "403"}
        if "requestBody" in operation:
            expected |= {"400", "413"}
        if method in BODY_METHODS:
            expected.add("413")
        if gaps := expected - set(operation["responses"]):
            missing.append((method.upper(), path, sorted(gaps)))
    assert missing == []


def test_retry_after_is_documented_where_the_server_sends_it(document):
    missing = [(method.upper(), path, status) for method, path, operation in _operations(document)
               for status, response in _errors(operation).items()
               if status in ("429", "503") and "Retry-After" not in response.get("headers", {})]
    assert missing == []


def test_each_error_names_its_codes_and_shows_one(document):
    for method, path, operation in _operations(document):
        for status, response in _errors(operation).items():
            example = response["content"]["application/json"]["example"]["error"]
            assert f"`{example['code']}`" in response["description"], (method, path, status)


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("post", "/api/v1/events", "422", "touchpoint_not_found"),
    ("post", "/api/v1/surveys", "422", "touchpoint_not_found"),
    ("post", "/api/v1/surveys", "409", "survey_exists"),
    ("get", "/api/v1/surveys/{key}", "404", "survey_not_found"),
    ("post", "/api/v1/responses", "410", "token_expired"),
    ("post", "/api/v1/responses", "409", "already_answered"),
    ("post", "/api/v1/responses", "429", "rate_limited"),
    ("get", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}", "404", "delivery_not_found"),
    ("post", "/api/v1/webhooks", "422", "url_private_address"),
    ("post", "/api/v1/sites", "422", "invalid_origin"),
    ("get", "/api/v1/responses", "422", "invalid_cursor"),
    ("get", "/api/v1/touchpoints", "401", "invalid_api_key"),
    ("get", "/api/v1/touchpoints", "403", "insufficient_scope"),
    ("post", "/api/v1/events", "400", "invalid_json"),
    ("post", "/api/v1/events", "413", "too_large"),
])
def test_operations_name_their_own_codes(document, method, path, status, code):
    assert f"`{code}`" in document["paths"][path][method]["responses"][status]["description"]


def test_every_request_body_has_an_example(document):
    missing = []
    for method, path, operation in _operations(document):
        if "requestBody" not in operation:
            continue
        content = operation["requestBody"]["content"]["application/json"]
        schema = content["schema"]
        models = [_schema_of(document, part) for part in [schema, *schema.get("anyOf", [])] if "$ref" in part]
        if not (content.get("example") or content.get("examples") or any(m.get("examples") for m in models)):
            missing.append((method.upper(), path))
    assert missing == []


def test_the_exempt_operations_are_still_undocumented(document):
    """When the widget's route documents its refusals with ErrorBody, drop it from EXEMPT."""
    for method, path in EXEMPT:
        errors = _errors(document["paths"][path][method])
        assert any(r.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref") != ERROR_BODY
                   for r in errors.values()) or not errors
