"""`/api/v1/loyalty/members`: translate HTTP to use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.api.schemas import MemberOut
from patron_loyalty.service import members as use_cases
from patron_shared.auth import Scope
from patron_shared.http import api_router, unit_of_work

Reader = Annotated[LoyaltyUnitOfWork, Depends(unit_of_work(LoyaltyUnitOfWork, Scope.LOYALTY_READ))]


def build_members_router() -> APIRouter:
    router = api_router(prefix="/api/v1/loyalty/members", tags=["loyalty"])

    @router.get("/{customer_id}", summary="Get a customer's loyalty membership")
    async def get_member(customer_id: uuid.UUID, uow: Reader) -> MemberOut:
        return MemberOut.of(await use_cases.get_member(uow, customer_id))

    return router
