"""HTTP security: bearer tokens in, principals out, scopes enforced as problems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from patron_shared.auth import mint_dev_token
from patron_shared.http import PROBLEM_CONTENT_TYPE
from patron_shared.settings import DEV_JWT_SECRET

from .http_app import bearer, build_app, client_for


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build_app()) as client:
        yield client


async def test_a_caller_holding_the_scope_gets_through_as_their_principal(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/secure", headers=bearer("analyst", tenant="acme"))

    assert response.status_code == 200
    assert response.json() == {"tenant": "acme", "subject": "dev-user"}


async def test_an_extra_scope_in_the_token_is_enough(client: httpx.AsyncClient) -> None:
    response = await client.get("/secure", headers=bearer(scopes=("customers:read",)))

    assert response.status_code == 200


async def test_a_request_without_a_token_is_a_401_problem_asking_for_a_bearer_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/secure")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["www-authenticate"].startswith("Bearer ")
    body = response.json()
    assert body["type"] == "urn:patron:problem:unauthorized"
    assert body["detail"] == "missing bearer token"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer not.a.token",
        "Bearer " + mint_dev_token(secret="not-the-service-secret-at-all-12345", tenant="demo"),
        "Bearer " + mint_dev_token(secret=DEV_JWT_SECRET, tenant="demo", ttl=timedelta(hours=-1)),
    ],
    ids=["basic-auth", "garbage", "wrong-secret", "expired"],
)
async def test_a_request_with_an_unusable_token_is_a_401_problem(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/secure", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert response.json()["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("roles", [(), ("nobody",)], ids=["no-roles", "unknown-role"])
async def test_a_caller_without_the_scope_is_a_403_problem_naming_the_missing_scope(
    client: httpx.AsyncClient, roles: tuple[str, ...]
) -> None:
    response = await client.get("/secure", headers=bearer(*roles))

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert "www-authenticate" not in response.headers
    body = response.json()
    assert body["type"] == "urn:patron:problem:forbidden"
    assert "customers:read" in body["detail"]
    assert body["missing_scopes"] == ["customers:read"]
