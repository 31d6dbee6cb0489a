"""RFM use cases: the tenant's distribution over scores and named segments; one customer's."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from patron_segmentation.domain.rfm import RFM_SEGMENTS, RfmScore
from patron_segmentation.service.ports import RfmUnitOfWork
from patron_shared.errors import NotFound


@dataclass(frozen=True)
class RfmDistribution:
    customers: int  # buyers: live customers with at least one counted order
    segments: dict[str, int]  # every named segment, in RFM_SEGMENTS order
    recency: dict[int, int]  # score -> customers, 1 to 5
    frequency: dict[int, int]
    monetary: dict[int, int]


async def rfm_distribution(uow: RfmUnitOfWork) -> RfmDistribution:
    async with uow:
        counted = await uow.rfm.distribution()
    segments: Counter[str] = Counter()
    scores: tuple[Counter[int], Counter[int], Counter[int]] = (Counter(), Counter(), Counter())
    for score, count in counted:
        segments[score.segment] += count
        for tally, value in zip(
            scores, (score.recency, score.frequency, score.monetary), strict=True
        ):
            tally[value] += count
    recency, frequency, monetary = (
        {value: tally[value] for value in range(1, 6)} for tally in scores
    )
    return RfmDistribution(
        customers=sum(count for _, count in counted),
        segments={name: segments[name] for name in RFM_SEGMENTS},
        recency=recency,
        frequency=frequency,
        monetary=monetary,
    )


async def customer_rfm(uow: RfmUnitOfWork, customer_id: uuid.UUID) -> RfmScore:
    async with uow:
        score = await uow.rfm.of_customer(customer_id)
    if score is None:
        raise NotFound(f"no RFM score for customer {customer_id}: no counted order")
    return score
