"""Undeclared query parameters are refused by the route, for every endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from sqlalchemy import MetaData

from patron_shared.db import MessagingTables
from patron_shared.http import (
    PageParams,
    ServiceRuntime,
    api_router,
    create_service_app,
    page_params,
)
from patron_shared.http.problems import install_problem_handlers
from patron_shared.settings import ServiceSettings

from .http_app import client_for


async def colour_filter(colour: Annotated[str | None, Query()] = None) -> str | None:
    return colour


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    router = api_router(prefix="/things", tags=["things"])

    @router.get("")
    async def list_things(
        paging: Annotated[PageParams, Depends(page_params(20, 100))],
        colour: Annotated[str | None, Depends(colour_filter)],
        q: str | None = None,
    ) -> dict[str, object]:
        return {"page": paging.page, "colour": colour, "q": q}

    @router.get("/plain")
    async def plain() -> dict[str, str]:
        return {"status": "ok"}

    app.router.routes.extend(router.routes)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build_app()) as http:
        yield http


async def test_parameters_of_the_endpoint_and_of_its_dependencies_are_accepted(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/things", params={"page": 2, "colour": "red", "q": "x"})

    assert response.status_code == 200
    assert response.json() == {"page": 2, "colour": "red", "q": "x"}


async def test_an_undeclared_parameter_is_a_422_naming_it_and_what_is_expected(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/things", params={"color": "red"})

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "color"
    assert problem["errors"][0]["location"] == "query"
    assert "colour, page, per_page, q" in problem["errors"][0]["message"]


async def test_an_endpoint_without_parameters_refuses_any(client: httpx.AsyncClient) -> None:
    assert (await client.get("/things/plain")).status_code == 200

    response = await client.get("/things/plain?verbose=1")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "verbose"
    assert "takes no query parameters" in response.json()["errors"][0]["message"]


def test_a_service_app_refuses_routes_not_declared_on_the_shared_router() -> None:
    router = APIRouter(prefix="/api/v1/loose")

    @router.get("")
    async def loose() -> None:
        return None

    runtime = ServiceRuntime.create("things", ServiceSettings(), MessagingTables.define(MetaData()))

    with pytest.raises(TypeError, match="api_router"):
        create_service_app(runtime, title="t", routers=[router])
