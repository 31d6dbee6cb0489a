"""Live segment membership on fakes: the event that changes a customer's facts moves it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from patron_segmentation.domain.builtin_segments import BuiltinThresholds
from patron_segmentation.domain.rules import parse
from patron_segmentation.domain.segments import Segment
from patron_segmentation.service.facts import delete_facts, record_facts
from patron_shared.events import (
    CustomerCreated,
    CustomerDeleted,
    CustomerSnapshot,
    OrderCancelled,
    OrderPlaced,
    SegmentEntered,
    SegmentExited,
    VipStatusChanged,
    utcnow,
)
from patron_shared.testing import run_without_io

from .fakes import FakeSegmentationUnitOfWork, record_order_event

THRESHOLDS = BuiltinThresholds(vip_order_threshold=3, vip_spend_threshold=Decimal("1000"))


def order(customer_id: uuid.UUID, order_id: str, total: str = "10") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency="USD",
        total=Decimal(total),
        placed_at=utcnow() - timedelta(days=1),
    )


def moves(uow: FakeSegmentationUnitOfWork) -> list[tuple[str, str]]:
    found = []
    for event in uow.published:
        if isinstance(event, SegmentEntered | SegmentExited):
            found.append((type(event).__name__.removeprefix("Segment"), event.segment_key))
        elif isinstance(event, VipStatusChanged):
            found.append(("Vip", str(event.is_vip)))
    uow.published.clear()
    return found


def test_the_order_that_makes_a_customer_vip_moves_it_into_vip_and_a_cancellation_out() -> None:
    uow, customer_id = FakeSegmentationUnitOfWork(thresholds=THRESHOLDS), uuid.uuid4()
    run_without_io(record_order_event(uow, order(customer_id, "A")))
    assert moves(uow) == [("Entered", "engagement_active"), ("Entered", "new")]
    run_without_io(record_order_event(uow, order(customer_id, "B")))
    assert moves(uow) == [("Entered", "returning"), ("Exited", "new")]

    run_without_io(record_order_event(uow, order(customer_id, "C")))

    assert moves(uow) == [("Entered", "vip"), ("Vip", "True")]
    assert uow.memberships.members("vip") == {customer_id}
    run_without_io(
        record_order_event(
            uow, OrderCancelled(order_id="C", customer_id=customer_id, cancelled_at=utcnow())
        )
    )
    assert moves(uow) == [("Exited", "vip"), ("Vip", "False")]
    assert uow.memberships.members("vip") == set()


def test_a_custom_segment_follows_the_customers_tags_and_a_deletion_empties_everything() -> None:
    uow, customer_id = FakeSegmentationUnitOfWork(), uuid.uuid4()
    gifters = Segment.new(
        name="Gifters",
        rule=parse("tags CONTAINS 'gift'"),
        description=None,
        created_by=None,
        now=utcnow(),
    )
    uow.segments.rows[gifters.id] = gifters
    now = utcnow()
    tagged = CustomerSnapshot(email="a@example.com", tags=["gift"], created_at=now, updated_at=now)

    run_without_io(record_facts(uow, CustomerCreated(customer_id=customer_id, customer=tagged)))
    assert sorted(moves(uow)) == sorted(
        [("Entered", "engagement_new"), ("Entered", str(gifters.id))]
    )

    run_without_io(delete_facts(uow, CustomerDeleted(customer_id=customer_id, deleted_at=now)))
    assert sorted(moves(uow)) == sorted([("Exited", "engagement_new"), ("Exited", str(gifters.id))])
    assert uow.memberships.rows == {}


def test_a_stale_snapshot_moves_nobody() -> None:
    uow, customer_id = FakeSegmentationUnitOfWork(), uuid.uuid4()
    now = utcnow()
    newer = CustomerSnapshot(email="a@example.com", created_at=now, updated_at=now)
    older = newer.model_copy(update={"updated_at": now - timedelta(hours=1), "tags": ["gift"]})
    run_without_io(record_facts(uow, CustomerCreated(customer_id=customer_id, customer=newer)))
    moves(uow)

    run_without_io(record_facts(uow, CustomerCreated(customer_id=customer_id, customer=older)))

    assert moves(uow) == []
