"""Request-scoped units of work, authorised by scope.

No `from __future__ import annotations`: FastAPI evaluates these annotations at runtime.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

from patron_shared.db import UnitOfWork
from patron_shared.http.security import require

UowT = TypeVar("UowT", bound=UnitOfWork)


def unit_of_work(uow_class: type[UowT], scope: str) -> Callable[[Request], Awaitable[UowT]]:
    """Dependency: a unit of work for the caller's tenant, if the caller holds `scope`.

    The caller comes with it (`uow.caller`), so an endpoint that needs both asks for one
    dependency: FastAPI's cost per request grows with each one.
    """
    authorize = require(scope)

    async def dependency(request: Request) -> UowT:
        principal = await authorize(request)
        runtime = request.app.state.runtime
        uow: UowT = runtime.unit_of_work(
            uow_class,
            tenant_id=principal.tenant_id,
            correlation_id=request.scope.get("state", {}).get("request_id"),
            caller=principal,
        )
        return uow

    return dependency
