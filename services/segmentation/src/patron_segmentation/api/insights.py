"""`/api/v1/insights/model` and `/api/v1/customers/{id}/insights`: the customer-base models.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from patron_segmentation.api.segments import Reader
from patron_segmentation.domain.predictions import InsightModel, TimeUnit
from patron_segmentation.service import insights as use_cases
from patron_segmentation.settings import SegmentationSettings
from patron_shared.http import api_router


class BgNbdOut(BaseModel):
    r: float
    alpha: float
    a: float
    b: float


class GammaGammaOut(BaseModel):
    p: float
    q: float
    v: float


class InsightModelOut(BaseModel):
    as_of: date = Field(description="orders placed up to this day (UTC, inclusive) were the data")
    time_unit: TimeUnit
    customers: int = Field(description="customers with a purchase by then")
    repeat_customers: int
    bgnbd: BgNbdOut = Field(description="purchase frequency and drop-out (Fader et al. 2005)")
    gamma_gamma: GammaGammaOut | None = Field(description="order value; null with no repeat buyer")
    average_lifespan_days: float
    fitted_at: datetime

    @classmethod
    def of(cls, model: InsightModel, fitted_at: datetime) -> "InsightModelOut":
        gamma = model.gamma_gamma
        return cls(
            as_of=model.as_of,
            time_unit=model.time_unit,
            customers=model.customers,
            repeat_customers=model.repeat_customers,
            bgnbd=BgNbdOut(
                r=model.bgnbd.r, alpha=model.bgnbd.alpha, a=model.bgnbd.a, b=model.bgnbd.b
            ),
            gamma_gamma=None if gamma is None else GammaGammaOut(p=gamma.p, q=gamma.q, v=gamma.v),
            average_lifespan_days=model.average_lifespan_days,
            fitted_at=fitted_at,
        )


class CustomerInsightsOut(BaseModel):
    customer_id: uuid.UUID
    probability_alive: float = Field(ge=0, le=1)
    churn_risk: float = Field(ge=0, le=1, description="1 - probability alive")
    expected_purchases_30d: float
    expected_purchases_90d: float
    expected_purchases_365d: float
    expected_order_value: float | None
    predicted_lifetime_value_365d: float | None = Field(
        description="expected purchases in a year x expected order value (no discounting)"
    )
    simple_lifetime_value: float = Field(
        description="average order value x purchases per year x the tenant's average lifespan"
    )
    model_as_of: date


def build_insights_router(settings: SegmentationSettings) -> APIRouter:
    router = api_router(prefix="/api/v1", tags=["insights"])
    max_age = timedelta(hours=settings.insights_model_max_age_hours)

    @router.get(
        "/insights/model",
        summary="The tenant's fitted BG/NBD and Gamma-Gamma parameters",
        description="Fitted on orders up to `as_of` (today by default; an earlier day backtests) "
        "in days or weeks; stored, and today's refitted once older than "
        "INSIGHTS_MODEL_MAX_AGE_HOURS. 404 when there is no order to fit on.",
    )
    async def model(
        uow: Reader,
        as_of: Annotated[date | None, Query(description="the last day of data (UTC)")] = None,
        time_unit: Annotated[TimeUnit, Query(description="day or week")] = "week",
    ) -> InsightModelOut:
        fitted, fitted_at = await use_cases.tenant_model(
            uow, as_of=as_of, unit=time_unit, max_age=max_age
        )
        return InsightModelOut.of(fitted, fitted_at)

    @router.get(
        "/customers/{customer_id}/insights",
        summary="A customer's predictions: probability alive, purchases, lifetime value",
    )
    async def customer(
        customer_id: uuid.UUID,
        uow: Reader,
        time_unit: Annotated[TimeUnit, Query(description="the model's time unit")] = "week",
    ) -> CustomerInsightsOut:
        found, fitted = await use_cases.insights_of_customer(
            uow, customer_id, unit=time_unit, max_age=max_age
        )
        return CustomerInsightsOut(
            customer_id=customer_id,
            probability_alive=found.probability_alive,
            churn_risk=found.churn_risk,
            expected_purchases_30d=found.expected_purchases_30d,
            expected_purchases_90d=found.expected_purchases_90d,
            expected_purchases_365d=found.expected_purchases_365d,
            expected_order_value=found.expected_order_value,
            predicted_lifetime_value_365d=found.predicted_lifetime_value_365d,
            simple_lifetime_value=found.simple_lifetime_value,
            model_as_of=fitted.as_of,
        )

    return router
