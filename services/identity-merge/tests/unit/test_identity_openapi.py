"""The identity service's OpenAPI document: who needs a bearer token and who does not."""

from __future__ import annotations

from typing import Any

from patron_identity.app import create_app
from patron_identity.settings import IdentitySettings


def test_signed_webhooks_take_no_bearer_token_and_every_other_operation_requires_one() -> None:
    openapi: dict[str, Any] = create_app(IdentitySettings()).openapi()
    security = {
        (method.upper(), path): operation.get("security")
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/")
    }
    webhook = "/api/v1/identity/webhooks/{connector_id}"

    assert security.pop(("POST", webhook)) == []
    assert security.pop(("GET", webhook)) == []
    assert security  # the rest of the API is there
    assert {str(found) for found in security.values()} == {str([{"HTTPBearer": []}])}
