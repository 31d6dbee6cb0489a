"""A tiny FastAPI app wired like a Patron service, and a client that calls it in memory."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from patron_shared.auth import Principal, TokenVerifier, mint_dev_token
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.http import Page, PageParams, page_params, require
from patron_shared.http.middleware import RequestContextMiddleware
from patron_shared.http.problems import install_problem_handlers
from patron_shared.settings import DEV_JWT_SECRET, ServiceSettings

ITEMS = [f"item-{n}" for n in range(45)]


class Order(BaseModel):
    count: int
    note: str | None = None


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.state.token_verifier = TokenVerifier(ServiceSettings())

    @app.get("/customers/{customer_id}")
    async def missing(customer_id: str) -> None:
        raise NotFound(f"customer {customer_id} not found", customer_id=customer_id)

    @app.post("/customers")
    async def duplicate() -> None:
        raise Conflict("email already taken")

    @app.post("/customers/email")
    async def invalid() -> None:
        raise InvalidInput("email", "bad")

    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("password=hunter2 in connection string")

    @app.post("/orders")
    async def create_order(order: Order) -> dict[str, int]:
        return {"count": order.count}

    @app.get("/secure")
    async def secure(
        principal: Annotated[Principal, Depends(require("customers:read"))],
    ) -> dict[str, Any]:
        return {"tenant": principal.tenant_id, "subject": principal.subject}

    @app.get("/items")
    async def items(params: Annotated[PageParams, Depends(page_params(20, 100))]) -> Page[str]:
        chunk = ITEMS[params.offset : params.offset + params.per_page]
        return Page.build(chunk, params, total_items=len(ITEMS))

    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    # Unhandled errors are turned into a 500 response rather than raised into the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://patron.test")


def bearer(*roles: str, tenant: str = "demo", scopes: tuple[str, ...] = ()) -> dict[str, str]:
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant=tenant, roles=roles, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}
