"""FastAPI dependencies: the caller's `Principal`, and scope checks.

Each check is one dependency that reads the `Authorization` header itself rather than a
chain of them: FastAPI's per-request cost grows with every node of a route's dependency
graph, and these sit on every request. The bearer scheme is documented once for the whole
API by `document_bearer_security`.

No `from __future__ import annotations`: FastAPI evaluates these annotations at runtime.
"""

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import Scope

from patron_shared.auth import Principal, TokenVerifier
from patron_shared.errors import Forbidden, Unauthorized

BEARER_SCHEME = "HTTPBearer"
_BEARER_DESCRIPTION = "JWT with `tenant`, `roles`, `scopes`"


async def current_principal(request: Request) -> Principal:
    """The caller, from its bearer token (verified once per request)."""
    # The request's state and headers straight from the ASGI scope: this runs on every
    # request, and Starlette's wrappers around them cost more than the lookups.
    state: dict[str, Any] = request.scope.setdefault("state", {})
    known: Principal | None = state.get("principal")
    if known is not None:
        return known
    scheme, _, token = _authorization(request.scope).partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token)
    state["principal"] = principal
    return principal


def _authorization(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return ""


@functools.cache
def require(*scopes: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: the caller, who must hold every one of `scopes`.

    One function per set of scopes, so FastAPI checks it once per request however many
    parameters ask for it.
    """

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        missing = [scope for scope in scopes if not principal.has(scope)]
        if missing:
            raise Forbidden(f"missing scope: {', '.join(missing)}", missing_scopes=missing)
        return principal

    return dependency


# for `openapi_extra`: the operation takes no bearer token
NO_BEARER_TOKEN: dict[str, Any] = {"security": []}


def document_bearer_security(app: FastAPI, *, prefix: str = "/api/") -> None:
    """Declare the bearer scheme in the OpenAPI document, required by every operation
    under `prefix` (health, readiness and metrics stay open). An operation declaring its own
    `security` keeps it: `openapi_extra=NO_BEARER_TOKEN` for one authenticated otherwise
    (a signed webhook)."""

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[BEARER_SCHEME] = {
                "type": "http",
                "scheme": "bearer",
                "description": _BEARER_DESCRIPTION,
            }
            for path, operations in schema.get("paths", {}).items():
                if path.startswith(prefix):
                    for operation in operations.values():
                        operation.setdefault("security", [{BEARER_SCHEME: []}])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
