"""HTTP security: bearer tokens in, principals out, scopes enforced as problems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI

from patron_shared.auth import Principal, TokenVerifier, mint_dev_token
from patron_shared.http import PROBLEM_CONTENT_TYPE, require
from patron_shared.http.problems import install_problem_handlers
from patron_shared.settings import DEV_JWT_SECRET, ServiceSettings

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


async def test_a_token_is_checked_once_per_request_however_many_dependencies_ask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = FastAPI()
    install_problem_handlers(app)
    verifier = TokenVerifier(ServiceSettings(jwt_cache_seconds=0))
    app.state.token_verifier = verifier
    calls: list[str] = []
    real_verify = verifier.verify

    async def counting_verify(token: str) -> Principal:
        calls.append(token)
        return await real_verify(token)

    monkeypatch.setattr(verifier, "verify", counting_verify)

    @app.get("/both")
    async def both(
        reader: Annotated[Principal, Depends(require("customers:read"))],
        writer: Annotated[Principal, Depends(require("customers:read", "customers:write"))],
    ) -> dict[str, str]:
        return {"reader": reader.subject, "writer": writer.subject}

    async with client_for(app) as client:
        allowed = await client.get("/both", headers=bearer("admin"))
        refused = await client.get("/both", headers=bearer("analyst"))

    assert allowed.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["missing_scopes"] == ["customers:write"]
    assert len(calls) == 2  # one per request


@pytest.mark.parametrize("authorization", ["Basic abc", "Bearer", "Bearer   ", "token abc"])
async def test_anything_but_a_bearer_token_is_a_401(authorization: str) -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/secure", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json()["detail"] == "missing bearer token"
