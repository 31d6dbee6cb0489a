"""Order facts from order events, on fakes: any arrival order and duplication, same facts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from patron_segmentation.domain.orders import OrderFacts
from patron_segmentation.service.orders import record_order_events
from patron_shared.events import (
    OrderCancelled,
    OrderItem,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
)
from patron_shared.orders import OrderEvent
from patron_shared.testing import run_without_io

from .fakes import FakeSegmentationUnitOfWork, delivered, record_order_event

CUSTOMER = uuid.UUID(int=7)
DAY = datetime(2026, 3, 1, tzinfo=UTC)


def deliver(uow: FakeSegmentationUnitOfWork, message_id: uuid.UUID, event: OrderEvent) -> None:
    run_without_io(record_order_event(uow, event, message_id))


def placed(
    order: str, total: str, day: int, *, currency: str = "USD", category: str = "Shoes"
) -> OrderPlaced:
    return OrderPlaced(
        order_id=order,
        customer_id=CUSTOMER,
        currency=currency,
        total=Decimal(total),
        placed_at=DAY + timedelta(days=day),
        items=[
            OrderItem(sku="S", name="n", category=category, quantity=1, unit_price=Decimal(total))
        ],
    )


def test_placed_refunded_and_cancelled_orders_give_the_facts_a_shop_owner_expects() -> None:
    uow = FakeSegmentationUnitOfWork()
    events = [
        placed("A", "100.00", 0, category="Shoes"),
        placed("B", "40.00", 40, category=" Gift  Cards "),
        placed("C", "999.00", 50, category="Jewellery"),
        OrderRefunded(
            order_id="A",
            customer_id=CUSTOMER,
            amount=Decimal("30"),
            currency="USD",
            refunded_at=DAY,
        ),
        OrderCancelled(order_id="C", customer_id=CUSTOMER, cancelled_at=DAY + timedelta(days=51)),
        placed("D", "10.00", 60, currency="EUR", category="Socks"),
    ]
    for event in events:
        deliver(uow, uuid.uuid4(), event)

    facts = uow.orders.facts[CUSTOMER]
    assert facts == OrderFacts(
        order_count=3,
        total_spent=Decimal("110.00"),
        currency="USD",
        average_order_value=Decimal("55.00"),
        order_total_max=Decimal("70.00"),
        order_total_min=Decimal("40.00"),
        first_order_at=DAY,
        last_order_at=DAY + timedelta(days=60),
        last_order_month=4,
        categories=("gift cards", "shoes", "socks"),
    )


def _history() -> list[tuple[uuid.UUID, OrderEvent]]:
    """A customer's order events, each with the id of the message that carried it."""
    events: list[OrderEvent] = [
        placed("A", "120.00", 0),
        OrderPaid(
            order_id="A", customer_id=CUSTOMER, amount=Decimal("120"), currency="USD", paid_at=DAY
        ),
        OrderRefunded(
            order_id="A",
            customer_id=CUSTOMER,
            amount=Decimal("20"),
            currency="USD",
            refunded_at=DAY,
        ),
        OrderRefunded(
            order_id="A", customer_id=CUSTOMER, amount=Decimal("5"), currency="USD", refunded_at=DAY
        ),
        placed("B", "60.00", 10, category="Hats"),
        OrderCancelled(order_id="B", customer_id=CUSTOMER, cancelled_at=DAY + timedelta(days=11)),
        placed("C", "15.50", 20, category="Socks"),
    ]
    return [(uuid.UUID(int=n + 1), event) for n, event in enumerate(events)]


@settings(max_examples=100, deadline=None)
@given(st.permutations(_history()), st.lists(st.integers(min_value=0, max_value=6), max_size=4))
def test_any_arrival_order_and_any_redelivery_give_the_same_facts(
    arrival: list[tuple[uuid.UUID, OrderEvent]], repeats: list[int]
) -> None:
    in_order = FakeSegmentationUnitOfWork()
    for message_id, event in _history():
        deliver(in_order, message_id, event)
    shuffled = FakeSegmentationUnitOfWork()
    for message_id, event in [*arrival, *(arrival[n] for n in repeats)]:
        deliver(shuffled, message_id, event)

    assert shuffled.orders.facts[CUSTOMER] == in_order.orders.facts[CUSTOMER]
    assert in_order.orders.facts[CUSTOMER].total_spent == Decimal("110.50")
    assert in_order.orders.facts[CUSTOMER].categories == ("shoes", "socks")


@settings(max_examples=100, deadline=None)
@given(st.permutations(_history()), st.lists(st.integers(min_value=1, max_value=7), min_size=1))
def test_events_handled_in_batches_give_the_facts_of_one_at_a_time(
    arrival: list[tuple[uuid.UUID, OrderEvent]], batch_sizes: list[int]
) -> None:
    one_at_a_time = FakeSegmentationUnitOfWork()
    for message_id, event in arrival:
        deliver(one_at_a_time, message_id, event)
    batched, start = FakeSegmentationUnitOfWork(), 0
    for size in batch_sizes:
        batch = [delivered(event, message_id) for message_id, event in arrival[start:][:size]]
        if batch:
            run_without_io(record_order_events(batched, batch))
        start += size
    if start < len(arrival):
        rest = [delivered(event, message_id) for message_id, event in arrival[start:]]
        run_without_io(record_order_events(batched, rest))

    assert batched.orders.rows == one_at_a_time.orders.rows
    assert batched.orders.facts[CUSTOMER] == one_at_a_time.orders.facts[CUSTOMER]
    assert batched.memberships.rows.keys() == one_at_a_time.memberships.rows.keys()


def test_no_counted_order_leaves_empty_facts() -> None:
    uow = FakeSegmentationUnitOfWork()
    deliver(uow, uuid.uuid4(), OrderCancelled(order_id="X", customer_id=CUSTOMER, cancelled_at=DAY))
    deliver(uow, uuid.uuid4(), placed("X", "50.00", 0))

    assert uow.orders.facts[CUSTOMER] == OrderFacts()
