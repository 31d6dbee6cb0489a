"""What segmentation infers about one customer, for the customer's GDPR export.

The stored rows (facts, memberships, orders) are exported as they are; the RFM score and
the predictions are computed on demand from them, as the API computes them
(`/customers/{id}/rfm`, `/customers/{id}/insights`): they are profiling, which the customer
has the right to see (GDPR art. 15(1)(h)). The predictions come from the tenant's stored
model as it is, however old: fitting one takes the tenant's whole order history, longer
than the profile waits for this part, so the export never fits one and says which model it
used, or why there are no predictions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from patron_segmentation.domain.predictions import CustomerInsights, TimeUnit, customer_insights
from patron_segmentation.domain.rfm import RfmScore
from patron_segmentation.service.insights import customer_summary
from patron_segmentation.service.ports import InsightsUnitOfWork, RfmUnitOfWork
from patron_segmentation.service.rfm import customer_rfm
from patron_shared.errors import NotFound
from patron_shared.events import utcnow

EXPORT_TIME_UNIT: TimeUnit = "week"  # the insights API's default

PredictionsAbsent = Literal["no_counted_order", "no_stored_model"]


class ProfilingUnitOfWork(RfmUnitOfWork, InsightsUnitOfWork, Protocol):
    pass


@dataclass(frozen=True)
class CustomerProfiling:
    """The customer's RFM score (None without a counted order) and predictions; without
    predictions, `predictions_absent` says why."""

    rfm: RfmScore | None
    predictions: CustomerInsights | None
    model_as_of: date | None = None
    model_fitted_at: datetime | None = None
    predictions_absent: PredictionsAbsent | None = None


async def customer_profiling(
    uow: ProfilingUnitOfWork, customer_id: uuid.UUID, *, now: datetime | None = None
) -> CustomerProfiling:
    now = now or utcnow()
    try:
        rfm: RfmScore | None = await customer_rfm(uow, customer_id)
    except NotFound:
        rfm = None
    try:
        summary, average = await customer_summary(
            uow, customer_id, unit=EXPORT_TIME_UNIT, today=now.date()
        )
    except NotFound:
        return CustomerProfiling(rfm, None, predictions_absent="no_counted_order")
    async with uow:
        stored = await uow.insights.latest(EXPORT_TIME_UNIT, on_or_before=now.date())
    if stored is None:
        return CustomerProfiling(rfm, None, predictions_absent="no_stored_model")
    model, fitted_at = stored
    return CustomerProfiling(
        rfm,
        customer_insights(model, summary, average),
        model_as_of=model.as_of,
        model_fitted_at=fitted_at,
    )
