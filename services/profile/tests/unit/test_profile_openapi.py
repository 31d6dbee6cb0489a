"""The published OpenAPI document: every operation described, every body exemplified."""

from __future__ import annotations

from typing import Any

import pytest

from patron_profile.app import create_app
from patron_profile.settings import ProfileSettings


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    document: dict[str, Any] = create_app(ProfileSettings()).openapi()
    return document


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/")
    ]


def test_every_endpoint_of_the_issue_is_published(openapi: dict[str, Any]) -> None:
    published = {(method.upper(), path) for path, method, _ in operations(openapi)}
    for expected in [
        ("GET", "/api/v1/customers"),
        ("POST", "/api/v1/customers"),
        ("GET", "/api/v1/customers/search"),
        ("GET", "/api/v1/customers/{customer_id}"),
        ("PUT", "/api/v1/customers/{customer_id}"),
        ("PATCH", "/api/v1/customers/{customer_id}"),
        ("DELETE", "/api/v1/customers/{customer_id}"),
        ("GET", "/api/v1/customers/{customer_id}/orders"),
        ("POST", "/api/v1/customers/bulk/tags"),
        ("POST", "/api/v1/customers/bulk/tags/remove"),
        ("GET", "/api/v1/tags"),
    ]:
        assert expected in published, expected
    families = {path.split("/")[5] for _, path in published if path.count("/") >= 5}
    assert {"addresses", "notes", "metadata", "consents", "tags", "orders"} <= families
    assert any(path.startswith("/api/v1/groups") for _, path in published)


def test_every_operation_has_a_summary_and_every_json_body_an_example(
    openapi: dict[str, Any],
) -> None:
    schemas = openapi["components"]["schemas"]
    for path, method, operation in operations(openapi):
        assert operation.get("summary"), f"{method} {path} has no summary"
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        ref = body["schema"].get("$ref", "")
        schema = schemas.get(ref.rsplit("/", 1)[-1], body["schema"])
        has_example = bool(body.get("example") or body.get("examples") or schema.get("examples"))
        if not has_example:
            fields = schema.get("properties", {}).values()
            has_example = any("examples" in field or "example" in field for field in fields)
        assert has_example, f"{method} {path}: request body without an example"


def test_errors_are_described_as_problem_details(openapi: dict[str, Any]) -> None:
    for path, method, operation in operations(openapi):
        for status, response in operation.get("responses", {}).items():
            if status.startswith(("4", "5")) and "content" in response:
                assert "application/problem+json" in response["content"] or (status == "422"), (
                    f"{method} {path} {status}"
                )


def test_every_api_operation_requires_the_bearer_scheme_and_operations_endpoints_do_not(
    openapi: dict[str, Any],
) -> None:
    scheme = openapi["components"]["securitySchemes"]["HTTPBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method, operation in operations(openapi):
        assert operation.get("security") == [{"HTTPBearer": []}], f"{method} {path}"
    for path in ("/health", "/ready"):
        assert "security" not in openapi["paths"][path]["get"]
