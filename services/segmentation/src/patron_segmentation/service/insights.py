"""Customer-base model use cases: fit (or reuse) a tenant's model, and one customer's insights.

A model is fitted on the tenant's order history up to a day (`as_of`, today by default, for
backtesting an earlier one) in days or weeks, stored, and reused while it is younger than the
settings allow; a fit takes the whole history, so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta

from patron_segmentation.domain.predictions import (
    CustomerInsights,
    CustomerSummary,
    InsightModel,
    TimeUnit,
    customer_insights,
    fit_insight_model,
    summarize,
)
from patron_segmentation.service.ports import InsightsUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import utcnow


async def tenant_model(
    uow: InsightsUnitOfWork,
    *,
    as_of: date | None,
    unit: TimeUnit,
    max_age: timedelta,
    now: datetime | None = None,
) -> tuple[InsightModel, datetime]:
    """The model on orders up to `as_of` (today), and when it was fitted; 404 without orders."""
    now = now or utcnow()
    day = as_of or now.date()
    async with uow:
        stored = await uow.insights.get(day, unit)
        if stored is not None and (as_of is not None or now - stored[1] <= max_age):
            return stored
        summaries = list((await uow.insights.summaries(day, unit)).values())
    if not summaries:
        raise NotFound(f"no orders by {day.isoformat()} to fit a model on")
    model = await asyncio.to_thread(fit_insight_model, summaries, day, unit)
    async with uow:
        await uow.insights.save(model, now)
        await uow.commit()
    return model, now


async def insights_of_customer(
    uow: InsightsUnitOfWork,
    customer_id: uuid.UUID,
    *,
    unit: TimeUnit,
    max_age: timedelta,
    now: datetime | None = None,
) -> tuple[CustomerInsights, InsightModel]:
    """The customer's predictions from today's model (fitted if need be); 404 without orders."""
    now = now or utcnow()
    summary, average = await customer_summary(uow, customer_id, unit=unit, today=now.date())
    model, _ = await tenant_model(uow, as_of=None, unit=unit, max_age=max_age, now=now)
    return customer_insights(model, summary, average), model


async def customer_summary(
    uow: InsightsUnitOfWork, customer_id: uuid.UUID, *, unit: TimeUnit, today: date
) -> tuple[CustomerSummary, float]:
    """What a model predicts the customer from: its purchases up to `today` and its average
    order value; 404 without a counted order."""
    async with uow:
        facts = await uow.facts.get(customer_id)
        history = await uow.insights.history(customer_id, today)
    summary = summarize(history, today, unit)
    if facts is None or not facts.is_live or summary is None:
        raise NotFound(f"no insights for customer {customer_id}: no counted order")
    return summary, float(facts.orders.average_order_value or 0)
