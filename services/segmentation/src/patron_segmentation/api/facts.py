"""`/api/v1/segments/customers`: translate HTTP to use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.api.schemas import CustomerFactsOut
from patron_segmentation.service import facts as use_cases
from patron_shared.auth import Scope
from patron_shared.http import api_router, unit_of_work

Reader = Annotated[
    SegmentationUnitOfWork, Depends(unit_of_work(SegmentationUnitOfWork, Scope.SEGMENTS_READ))
]


def build_facts_router() -> APIRouter:
    router = api_router(prefix="/api/v1/segments/customers", tags=["segments"])

    @router.get("/{customer_id}/facts", summary="Get the facts segments see about a customer")
    async def get_facts(customer_id: uuid.UUID, uow: Reader) -> CustomerFactsOut:
        return CustomerFactsOut.of(await use_cases.get_facts(uow, customer_id))

    return router
