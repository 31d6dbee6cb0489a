"""Merges, unmerges and erasure on fakes: facts combined, split back, and gone."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from patron_segmentation.domain.builtin_segments import BuiltinThresholds
from patron_segmentation.service.merges import erase_facts, merge_facts, unmerge_facts
from patron_shared.events import (
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
    OrderPlaced,
    SegmentExited,
    utcnow,
)
from patron_shared.testing import run_without_io

from .fakes import FakeSegmentationUnitOfWork, record_order_event

THRESHOLDS = BuiltinThresholds(vip_order_threshold=3)


def place(uow: FakeSegmentationUnitOfWork, customer_id: uuid.UUID, order_id: str) -> None:
    run_without_io(
        record_order_event(
            uow,
            OrderPlaced(
                order_id=order_id,
                customer_id=customer_id,
                currency="USD",
                total=Decimal("10"),
                placed_at=utcnow() - timedelta(days=2),
            ),
        )
    )


def merged(survivor: uuid.UUID, secondary: uuid.UUID) -> CustomersMerged:
    return CustomersMerged(customer_id=survivor, merged_customer_id=secondary, merged_at=utcnow())


def test_a_merge_combines_the_orders_and_an_unmerge_gives_them_back() -> None:
    uow = FakeSegmentationUnitOfWork(thresholds=THRESHOLDS)
    survivor, secondary = uuid.uuid4(), uuid.uuid4()
    place(uow, survivor, "S1")
    place(uow, secondary, "M1")
    place(uow, secondary, "M2")

    run_without_io(merge_facts(uow, merged(survivor, secondary)))

    assert uow.orders.facts[survivor].order_count == 3
    assert uow.orders.facts[secondary].order_count == 0
    assert uow.memberships.members("vip") == {survivor}
    assert not run_without_io(uow.memberships.of_customers([secondary]))[secondary]
    place(uow, secondary, "M3")  # an order event still naming the merged-away customer
    assert uow.orders.facts[survivor].order_count == 4

    run_without_io(
        unmerge_facts(
            uow,
            CustomersUnmerged(
                customer_id=survivor, restored_customer_id=secondary, unmerged_at=utcnow()
            ),
        )
    )

    assert uow.orders.facts[survivor].order_count == 2  # its own S1, and M3 that came after
    assert uow.orders.facts[secondary].order_count == 2
    assert uow.memberships.members("vip") == set()
    assert "returning" in run_without_io(uow.memberships.of_customers([secondary]))[secondary]


def test_an_erased_customer_leaves_no_facts_orders_or_memberships_behind() -> None:
    uow = FakeSegmentationUnitOfWork()
    customer_id = uuid.uuid4()
    place(uow, customer_id, "E1")
    uow.published.clear()

    run_without_io(
        erase_facts(uow, CustomerErased(customer_id=customer_id, mode="hard", erased_at=utcnow()))
    )

    assert customer_id not in uow.facts.rows
    assert uow.orders.rows == {}
    assert uow.memberships.rows == {}
    assert {e.segment_key for e in uow.published if isinstance(e, SegmentExited)} == {
        "new",
        "engagement_active",
    }
