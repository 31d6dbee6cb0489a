"""FastAPI dependencies: the caller's `Principal`, and scope checks.

No `from __future__ import annotations`: FastAPI evaluates these annotations at runtime.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from patron_shared.auth import Principal, TokenVerifier
from patron_shared.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="JWT with `tenant`, `roles`, `scopes`")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


def require(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller, who must hold every one of `scopes`."""

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        missing = [scope for scope in scopes if not principal.has(scope)]
        if missing:
            raise Forbidden(f"missing scope: {', '.join(missing)}", missing_scopes=missing)
        return principal

    return dependency
