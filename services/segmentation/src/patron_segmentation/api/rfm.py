"""`/api/v1/customers/rfm` and `/api/v1/customers/{id}/rfm`.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from patron_segmentation.api.segments import Reader
from patron_segmentation.service import rfm as use_cases
from patron_shared.http import api_router


class RfmDistributionOut(BaseModel):
    customers: int = Field(description="live customers with at least one counted order")
    segments: dict[str, int] = Field(description="customers per named RFM segment")
    recency: dict[str, int] = Field(description="customers per R score, 1 to 5")
    frequency: dict[str, int]
    monetary: dict[str, int]


class RfmScoreOut(BaseModel):
    customer_id: uuid.UUID
    recency: int = Field(ge=1, le=5)
    frequency: int = Field(ge=1, le=5)
    monetary: int = Field(ge=1, le=5)
    code: str = Field(description="R, F and M in one string, e.g. 545")
    segment: str


def build_rfm_router() -> APIRouter:
    router = api_router(prefix="/api/v1/customers", tags=["segments"])

    @router.get(
        "/rfm",
        summary="How the tenant's buyers spread over RFM scores and named segments",
        description="Scores are quintiles per tenant (5 is best); the named segments follow "
        "the R-F grid in the README.",
    )
    async def distribution(uow: Reader) -> RfmDistributionOut:
        found = await use_cases.rfm_distribution(uow)
        return RfmDistributionOut(
            customers=found.customers,
            segments=found.segments,
            recency={str(k): v for k, v in found.recency.items()},
            frequency={str(k): v for k, v in found.frequency.items()},
            monetary={str(k): v for k, v in found.monetary.items()},
        )

    @router.get("/{customer_id}/rfm", summary="A customer's RFM scores and named segment")
    async def of_customer(customer_id: uuid.UUID, uow: Reader) -> RfmScoreOut:
        score = await use_cases.customer_rfm(uow, customer_id)
        return RfmScoreOut(
            customer_id=customer_id,
            recency=score.recency,
            frequency=score.frequency,
            monetary=score.monetary,
            code=score.code,
            segment=score.segment,
        )

    return router
