"""Order statistics: the domain rules, the use cases on fakes, and any interleaving of events."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from patron_profile.service.customers import ContactRules, create_customer
from patron_profile.service.orders import (
    record_order_event,
)
from patron_shared.events import (
    Contract,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
)
from patron_shared.orders import OrderState, OrderStats, Refund
from patron_shared.testing import run_without_io

from .conftest import FakeUnitOfWork

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RULES = ContactRules(phone_default_region="US")
HANDLERS: dict[type[Contract], Callable[[Any, Any], Coroutine[Any, Any, None]]] = {
    OrderPlaced: record_order_event,
    OrderPaid: record_order_event,
    OrderRefunded: record_order_event,
    OrderCancelled: record_order_event,
}


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def refund(amount: str, currency: str = "USD", refund_id: int = 1) -> Refund:
    return Refund(uuid.UUID(int=refund_id), Decimal(amount), currency, at(60))


def placed_order(order_id: str, total: str, minutes: int = 0, currency: str = "USD") -> OrderState:
    return OrderState(order_id, uuid.UUID(int=7)).place(
        customer_id=uuid.UUID(int=7),
        currency=currency,
        total=Decimal(total),
        placed_at=at(minutes),
        event_id=uuid.uuid4(),
    )


# --- the domain rules ----------------------------------------------------------------------


def test_a_refund_before_its_order_is_kept_and_applied_when_the_order_is_placed() -> None:
    pending = OrderState("O-1", uuid.UUID(int=7)).refund(refund("30.00"))
    assert pending.status == "pending"
    assert pending.record() is None
    assert OrderStats.from_orders([pending]) == OrderStats()

    order = pending.place(
        customer_id=uuid.UUID(int=7),
        currency="USD",
        total=Decimal("100.00"),
        placed_at=T0,
        event_id=uuid.uuid4(),
    )
    assert order.refunded_amount == Decimal("30.00")
    assert OrderStats.from_orders([order]).total_spent == Decimal("70.00")


def test_refunds_count_once_each_in_the_orders_currency_and_never_beyond_its_total() -> None:
    order = placed_order("O-1", "50.00")
    order = order.refund(refund("20.00", refund_id=1)).refund(refund("20.00", refund_id=1))
    assert order.refunded_amount == Decimal("20.00")
    order = order.refund(refund("99.00", "EUR", refund_id=2))
    assert order.refunded_amount == Decimal("20.00")
    order = order.refund(refund("45.00", refund_id=3))
    assert order.refunded_amount == Decimal("50.00")
    assert OrderStats.from_orders([order]) == OrderStats(
        total_orders=1,
        total_spent=Decimal("0"),
        currency="USD",
        first_order_at=T0,
        last_order_at=T0,
        priced_orders=1,
    )


def test_a_cancelled_order_leaves_the_statistics_but_stays_in_the_history() -> None:
    kept, cancelled = placed_order("O-1", "40.00", 5), placed_order("O-2", "60.00", 1).cancel(at(9))
    stats = OrderStats.from_orders([kept, cancelled])
    assert (stats.total_orders, stats.total_spent, stats.first_order_at) == (1, Decimal(40), at(5))
    record = cancelled.record()
    assert record is not None
    assert (record.status, record.cancelled_at) == ("cancelled", at(9))


def test_payment_and_cancellation_keep_their_earliest_times_whatever_came_first() -> None:
    early_events = OrderState("O-1", uuid.UUID(int=7)).pay(at(9)).pay(at(3)).cancel(at(8))
    later = early_events.cancel(at(4)).pay(at(5))
    assert (later.paid_at, later.cancelled_at, later.status) == (at(3), at(4), "cancelled")
    assert placed_order("O-2", "1.00").pay(at(1)).status == "paid"


def test_statistics_are_in_the_currency_of_the_earliest_order_ties_broken_by_order_id() -> None:
    orders = [
        placed_order("B", "10.00", 0, "EUR"),
        placed_order("A", "20.00", 0, "USD"),
        placed_order("C", "30.00", 5, "USD"),
        placed_order("D", "7.00", 1, "EUR"),
    ]
    stats = OrderStats.from_orders(orders)
    assert (stats.currency, stats.total_spent, stats.priced_orders) == ("USD", Decimal(50), 2)
    assert stats.total_orders == 4
    assert stats.avg_order_value == Decimal("25.00")


def test_the_average_rounds_half_to_even_to_cents() -> None:
    orders = [placed_order("A", "0.01"), placed_order("B", "0.04")]
    assert OrderStats.from_orders(orders).avg_order_value == Decimal("0.02")


order_states = st.builds(
    lambda i, total, minutes, currency, cancelled: (
        placed_order(f"O-{i}", str(Decimal(total) / 100), minutes, currency).cancel(T0)
        if cancelled
        else placed_order(f"O-{i}", str(Decimal(total) / 100), minutes, currency)
    ),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 5),
    st.sampled_from(["USD", "EUR"]),
    st.booleans(),
)


@given(st.lists(order_states, unique_by=lambda o: o.order_id), st.randoms())
def test_order_statistics_do_not_depend_on_the_order_of_the_orders(
    orders: list[OrderState], rnd: random.Random
) -> None:
    shuffled = list(orders)
    rnd.shuffle(shuffled)
    assert OrderStats.from_orders(orders) == OrderStats.from_orders(shuffled)


# --- the use cases on fakes ----------------------------------------------------------------


def deliver(uow: FakeUnitOfWork, message_id: uuid.UUID, event: Contract) -> None:
    uow.causation_id = str(message_id)
    run_without_io(HANDLERS[type(event)](uow, event))


def placed_event(customer_id: uuid.UUID, order_id: str, total: str) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency="USD",
        total=Decimal(total),
        placed_at=T0,
    )


def refunded_event(customer_id: uuid.UUID, order_id: str, amount: str) -> OrderRefunded:
    return OrderRefunded(
        order_id=order_id,
        customer_id=customer_id,
        amount=Decimal(amount),
        currency="USD",
        refunded_at=at(30),
    )


def test_a_redelivered_refund_reduces_spend_once(uow: FakeUnitOfWork) -> None:
    customer = run_without_io(create_customer(uow, {"email": "r@example.com"}, rules=RULES))
    refund_id = uuid.uuid4()
    deliver(uow, uuid.uuid4(), placed_event(customer.id, "O-1", "100.00"))
    for _ in range(2):
        deliver(uow, refund_id, refunded_event(customer.id, "O-1", "25.00"))
    deliver(uow, uuid.uuid4(), refunded_event(customer.id, "O-1", "5.50"))

    stats = uow.customers.rows[customer.id].stats
    assert (stats.total_orders, stats.total_spent) == (1, Decimal("69.50"))


def test_events_before_the_customer_and_the_order_count_when_both_exist(
    uow: FakeUnitOfWork,
) -> None:
    customer_id = uuid.uuid4()
    cancelled = OrderCancelled(order_id="O-2", customer_id=customer_id, cancelled_at=T0)
    deliver(uow, uuid.uuid4(), refunded_event(customer_id, "O-1", "40.00"))
    deliver(uow, uuid.uuid4(), cancelled)
    deliver(uow, uuid.uuid4(), placed_event(customer_id, "O-1", "100.00"))
    deliver(uow, uuid.uuid4(), placed_event(customer_id, "O-2", "80.00"))

    customer = run_without_io(
        create_customer(uow, {"email": "e@example.com"}, rules=RULES, customer_id=customer_id)
    )

    assert customer.stats.total_orders == 1
    assert uow.customers.rows[customer_id].stats.total_spent == Decimal("60.00")
    history, total = run_without_io(uow.orders.list_for_customer(customer_id, offset=0, limit=10))
    assert total == 2
    assert {r.order_id: r.status for r in history} == {"O-1": "placed", "O-2": "cancelled"}


def test_an_order_placed_for_another_customer_moves_to_it(uow: FakeUnitOfWork) -> None:
    first = run_without_io(create_customer(uow, {"email": "a@example.com"}, rules=RULES))
    second = run_without_io(create_customer(uow, {"email": "b@example.com"}, rules=RULES))
    deliver(uow, uuid.uuid4(), refunded_event(first.id, "O-1", "10.00"))
    deliver(uow, uuid.uuid4(), placed_event(second.id, "O-1", "30.00"))

    assert uow.customers.rows[first.id].stats == OrderStats()
    assert uow.customers.rows[second.id].stats.total_spent == Decimal("20.00")


# --- any interleaving of order events ------------------------------------------------------


@dataclass
class PlannedOrder:
    """One order's events and, independently of the code under test, what they mean."""

    order_id: str
    currency: str
    total: Decimal
    placed_minute: int
    placed: bool
    paid_minutes: list[int]
    refunds: list[tuple[Decimal, str]]
    cancel_minutes: list[int]
    events: list[Contract] = field(default_factory=list)

    @property
    def refunded(self) -> Decimal:
        applied = sum((a for a, c in self.refunds if c == self.currency), Decimal(0))
        return min(applied, self.total) if self.placed else Decimal(0)

    @property
    def counted(self) -> bool:
        return self.placed and not self.cancel_minutes


@st.composite
def planned_orders(draw: st.DrawFn, customer_id: uuid.UUID, index: int) -> PlannedOrder:
    currency = draw(st.sampled_from(["USD", "USD", "EUR"]))
    plan = PlannedOrder(
        order_id=f"O-{index}",
        currency=currency,
        total=Decimal(draw(st.integers(0, 50_000))) / 100,
        placed_minute=draw(st.integers(0, 3)),  # few values: ties on the time happen
        placed=draw(st.integers(0, 4)) > 0,
        paid_minutes=draw(st.lists(st.integers(0, 60), max_size=2)),
        refunds=draw(
            st.lists(
                st.tuples(
                    st.integers(0, 30_000).map(lambda cents: Decimal(cents) / 100),
                    st.sampled_from([currency, currency, "GBP"]),
                ),
                max_size=3,
            )
        ),
        cancel_minutes=draw(st.lists(st.integers(0, 60), max_size=2)),
    )
    ids = {"order_id": plan.order_id, "customer_id": customer_id}
    if plan.placed:
        plan.events.append(
            OrderPlaced(
                **ids, currency=currency, total=plan.total, placed_at=at(plan.placed_minute)
            )
        )
    plan.events += [
        OrderPaid(**ids, amount=plan.total, currency=currency, paid_at=at(m))
        for m in plan.paid_minutes
    ]
    plan.events += [
        OrderRefunded(**ids, amount=amount, currency=cur, refunded_at=at(90))
        for amount, cur in plan.refunds
    ]
    plan.events += [OrderCancelled(**ids, cancelled_at=at(m)) for m in plan.cancel_minutes]
    return plan


@dataclass
class Scenario:
    customer_id: uuid.UUID
    orders: list[PlannedOrder]
    # Message ids with their events, in delivery order (duplicates share the id); None is
    # the moment the customer is created.
    deliveries: list[tuple[uuid.UUID, Contract] | None]

    def canonical(self) -> list[tuple[uuid.UUID, Contract] | None]:
        """The same messages once each, customer first, each order's events in order."""
        unique = {d[0]: d for d in self.deliveries if d is not None}
        return [None, *sorted(unique.values(), key=lambda d: d[0].int)]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    customer_id = uuid.UUID(int=draw(st.integers(1, 2**64)))
    orders = [draw(planned_orders(customer_id, i)) for i in range(draw(st.integers(1, 4)))]
    messages = [
        (uuid.UUID(int=n + 1), event)
        for n, event in enumerate(e for plan in orders for e in plan.events)
    ]
    repeated = draw(st.lists(st.sampled_from(messages), max_size=len(messages))) if messages else []
    shuffled: list[tuple[uuid.UUID, Contract] | None] = list(
        draw(st.permutations([*messages, *repeated]))
    )
    shuffled.insert(draw(st.integers(0, len(shuffled))), None)
    return Scenario(customer_id, orders, shuffled)


def run(scenario: Scenario, deliveries: list[tuple[uuid.UUID, Contract] | None]) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    for delivery in deliveries:
        if delivery is None:
            values = {"email": f"{scenario.customer_id.hex}@example.com"}
            run_without_io(
                create_customer(uow, values, rules=RULES, customer_id=scenario.customer_id)
            )
        else:
            deliver(uow, *delivery)
    return uow


def expected_stats(plans: list[PlannedOrder]) -> OrderStats:
    counted = sorted((p for p in plans if p.counted), key=lambda p: (p.placed_minute, p.order_id))
    if not counted:
        return OrderStats()
    currency = counted[0].currency
    priced = [p for p in counted if p.currency == currency]
    return OrderStats(
        total_orders=len(counted),
        total_spent=sum((p.total - p.refunded for p in priced), Decimal(0)),
        currency=currency,
        first_order_at=at(counted[0].placed_minute),
        last_order_at=at(max(p.placed_minute for p in counted)),
        priced_orders=len(priced),
    )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_statistics_under_any_interleaving_of_order_events(scenario: Scenario) -> None:
    uow = run(scenario, scenario.deliveries)
    orders = uow.orders.rows
    stats = uow.customers.rows[scenario.customer_id].stats

    # Each order ends as its events say, whatever their order and repetitions.
    for plan in scenario.orders:
        if not plan.events:
            assert plan.order_id not in orders
            continue
        order = orders[plan.order_id]
        assert order.is_placed == plan.placed
        assert order.refunded_amount == plan.refunded
        assert len(order.refunds) == len(plan.refunds)
        assert order.paid_at == (at(min(plan.paid_minutes)) if plan.paid_minutes else None)
        assert (order.cancelled_at is not None) == bool(plan.cancel_minutes)
    # The statistics are the fold over the final orders, and what the events mean.
    assert stats == OrderStats.from_orders(orders.values())
    assert stats == expected_stats(scenario.orders)
    # And the same as delivering every message once, in order, to a known customer.
    in_order = run(scenario, scenario.canonical())
    assert in_order.orders.rows == orders
    assert in_order.customers.rows[scenario.customer_id].stats == stats
