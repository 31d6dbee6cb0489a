"""`/api/v1/identity/customers`: translate HTTP to use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.api.schemas import IdentifiersOut
from patron_identity.service import customers as use_cases
from patron_shared.auth import Scope
from patron_shared.http import api_router, unit_of_work

Reader = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_READ))
]


def build_identifiers_router() -> APIRouter:
    router = api_router(prefix="/api/v1/identity/customers", tags=["identity"])

    @router.get("/{customer_id}/identifiers", summary="Get the identifiers of a customer")
    async def get_identifiers(customer_id: uuid.UUID, uow: Reader) -> IdentifiersOut:
        identifiers = await use_cases.get_identifiers(uow, customer_id)
        return IdentifiersOut.of(customer_id, identifiers, uow.caller)

    return router
