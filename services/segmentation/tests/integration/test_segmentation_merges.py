"""Merges, unmerges and erasure through the consumers, on a real database."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from patron_segmentation.adapters.tables import customer_facts, orders
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.facts import get_facts
from patron_shared.errors import NotFound
from patron_shared.events import (
    Contract,
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
    build_envelope,
    utcnow,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import deliver_record

from .test_live_membership import members
from .test_segments_api import customer

pytestmark = pytest.mark.integration


async def deliver(runtime: ServiceRuntime, tenant: str, event: Contract) -> None:
    envelope = build_envelope(event, tenant_id=tenant, source="t")
    assert await deliver_record(runtime, envelope) == "processed"


async def order_facts(
    runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID
) -> tuple[int, Decimal]:
    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        row = (
            await uow.session.execute(
                select(customer_facts.c.order_count, customer_facts.c.total_spent).where(
                    customer_facts.c.customer_id == customer_id
                )
            )
        ).one()
        return row.order_count, row.total_spent


async def test_a_merge_folds_the_facts_together_and_an_unmerge_splits_them_again(
    runtime: ServiceRuntime, tenant: str
) -> None:
    survivor = await customer(runtime, tenant, tags=[], spent=["100"])
    secondary = await customer(runtime, tenant, tags=["gift"], spent=["40000", "20000"])
    assert await members(runtime, tenant, "vip") == {secondary}

    await deliver(
        runtime,
        tenant,
        CustomersMerged(customer_id=survivor, merged_customer_id=secondary, merged_at=utcnow()),
    )

    assert await order_facts(runtime, tenant, survivor) == (3, Decimal("60100"))
    assert await members(runtime, tenant, "vip") == {survivor}
    assert await members(runtime, tenant, "returning") == {survivor}
    # the merged customer's facts answer where they went, as the profile does
    with pytest.raises(NotFound) as gone:
        await get_facts(runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant), secondary)
    assert gone.value.extensions == {"merged_into": str(survivor)}

    await deliver(
        runtime,
        tenant,
        CustomersUnmerged(
            customer_id=survivor, restored_customer_id=secondary, unmerged_at=utcnow()
        ),
    )

    assert await order_facts(runtime, tenant, survivor) == (1, Decimal("100"))
    assert await order_facts(runtime, tenant, secondary) == (2, Decimal("60000"))
    assert await members(runtime, tenant, "vip") == {secondary}


async def test_an_erased_customer_is_gone_from_facts_orders_and_segments(
    runtime: ServiceRuntime, tenant: str
) -> None:
    erased = await customer(runtime, tenant, tags=[], spent=["60000"])

    await deliver(
        runtime, tenant, CustomerErased(customer_id=erased, mode="hard", erased_at=utcnow())
    )

    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        facts = await uow.session.scalar(
            select(customer_facts.c.customer_id).where(customer_facts.c.customer_id == erased)
        )
        kept = await uow.session.scalar(
            select(orders.c.order_id).where(orders.c.customer_id == erased)
        )
    assert (facts, kept) == (None, None)
    assert await members(runtime, tenant, "vip") == set()
