"""What segmentation infers about one customer, for the customer's GDPR export.

The stored rows (facts, memberships, orders) are exported as they are; the RFM score and
the predictions are computed on demand from them, so the export computes them as the API
would (`/customers/{id}/rfm`, `/customers/{id}/insights`): they are profiling, which the
customer has the right to see (GDPR art. 15(1)(h)).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from patron_segmentation.domain.predictions import CustomerInsights, TimeUnit
from patron_segmentation.domain.rfm import RfmScore
from patron_segmentation.service.insights import insights_of_customer
from patron_segmentation.service.ports import InsightsUnitOfWork, RfmUnitOfWork
from patron_segmentation.service.rfm import customer_rfm
from patron_shared.errors import NotFound

EXPORT_TIME_UNIT: TimeUnit = "week"  # the insights API's default


class ProfilingUnitOfWork(RfmUnitOfWork, InsightsUnitOfWork, Protocol):
    pass


@dataclass(frozen=True)
class CustomerProfiling:
    """The customer's RFM score and predictions; each None without a counted order."""

    rfm: RfmScore | None
    predictions: CustomerInsights | None
    model_as_of: date | None


async def customer_profiling(
    uow: ProfilingUnitOfWork, customer_id: uuid.UUID, *, max_age: timedelta
) -> CustomerProfiling:
    try:
        rfm: RfmScore | None = await customer_rfm(uow, customer_id)
    except NotFound:
        rfm = None
    try:
        predictions, model = await insights_of_customer(
            uow, customer_id, unit=EXPORT_TIME_UNIT, max_age=max_age
        )
    except NotFound:
        return CustomerProfiling(rfm=rfm, predictions=None, model_as_of=None)
    return CustomerProfiling(rfm=rfm, predictions=predictions, model_as_of=model.as_of)
