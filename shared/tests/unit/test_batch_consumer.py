"""EventConsumer's batch path: one unit of work per tenant's run, message by message when
that fails, and the same outcomes as handling each message alone."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_shared.events import (
    Delivery,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    build_envelope,
)
from patron_shared.messaging import EventConsumer, RetryPolicy

from .fakes import (
    FakeRecord,
    FakeUnitOfWork,
    FakeUnitOfWorkFactory,
    RecordingDeadLetters,
    an_order_placed,
    envelope_of,
    record_of,
)

NO_WAIT = RetryPolicy(max_attempts=3, backoff_ms=0)


class BatchUseCase:
    """A batch use case: every delivery's order id becomes an effect when the batch commits;
    any delivery whose order id is in `poison` makes the whole batch fail."""

    def __init__(self, poison: frozenset[str] = frozenset()) -> None:
        self.poison = poison
        self.batches: list[list[str]] = []
        self.effects: list[str] = []

    async def __call__(self, uow: FakeUnitOfWork, deliveries: Sequence[Delivery[Any]]) -> None:
        order_ids = [d.event.order_id for d in deliveries]
        assert [d.envelope.id for d in deliveries] == [e.id for e in uow.envelopes]
        self.batches.append(order_ids)
        async with uow:
            if self.poison & set(order_ids):
                raise RuntimeError(f"cannot handle {sorted(self.poison & set(order_ids))}")
            await uow.commit()
            self.effects.extend(order_ids)


class SingleUseCase:
    def __init__(self) -> None:
        self.effects: list[str] = []

    async def __call__(self, uow: FakeUnitOfWork, event: OrderCancelled) -> None:
        async with uow:
            await uow.commit()
            self.effects.append(f"cancelled {event.order_id}")


def make_consumer(
    use_case: BatchUseCase, single: SingleUseCase | None = None
) -> tuple[EventConsumer[Any], FakeUnitOfWorkFactory, RecordingDeadLetters]:
    uows = FakeUnitOfWorkFactory()
    consumer: EventConsumer[Any] = EventConsumer(
        name=f"test-batch-{uuid.uuid4().hex[:8]}",
        topics=["patron.order.events.v1"],
        uow_factory=uows,
        batch_uow_factory=uows.batch,
        retry=NO_WAIT,
    )
    consumer.on_batch([OrderPlaced, OrderPaid], use_case)
    if single is not None:
        consumer.on(OrderCancelled, single)
    dead_letters = RecordingDeadLetters()
    consumer._dead_letters = dead_letters  # type: ignore[assignment]
    return consumer, uows, dead_letters


def placed_record(order_id: str, *, tenant_id: str = "demo", offset: int = 0) -> FakeRecord:
    return record_of(
        envelope_of(an_order_placed(order_id=order_id), tenant_id=tenant_id), offset=offset
    )


async def test_a_run_of_one_tenant_is_handled_in_one_unit_of_work() -> None:
    use_case = BatchUseCase()
    consumer, uows, _ = make_consumer(use_case)

    outcomes = await consumer.handle_records([placed_record(f"o{n}", offset=n) for n in range(5)])

    assert outcomes == ["processed"] * 5
    assert use_case.batches == [["o0", "o1", "o2", "o3", "o4"]]
    assert [uow.committed for uow in uows.made] == [True]


async def test_each_tenant_gets_its_own_unit_of_work_in_arrival_order() -> None:
    use_case = BatchUseCase()
    consumer, uows, _ = make_consumer(use_case)
    records = [
        placed_record("a1", tenant_id="acme"),
        placed_record("d1"),
        placed_record("a2", tenant_id="acme"),
        placed_record("d2"),
    ]

    await consumer.handle_records(records)

    assert use_case.batches == [["a1", "a2"], ["d1", "d2"]]
    assert [uow.tenant_id for uow in uows.made] == ["acme", "demo"]


async def test_a_failing_batch_is_handled_message_by_message_and_only_the_poison_dead_letters() -> (
    None
):
    use_case = BatchUseCase(poison=frozenset({"bad"}))
    consumer, _, dead_letters = make_consumer(use_case)
    records = [placed_record(order_id, offset=n) for n, order_id in enumerate(["o1", "bad", "o2"])]

    outcomes = await consumer.handle_records(records)

    assert outcomes == ["processed", "dead_lettered", "processed"]
    assert use_case.effects == ["o1", "o2"]
    assert [call.record.offset for call in dead_letters.calls] == [1]
    assert dead_letters.calls[0].attempts == NO_WAIT.max_attempts
    # the whole batch first, then each alone (the poison as often as the policy allows)
    assert use_case.batches[0] == ["o1", "bad", "o2"]
    assert use_case.batches[1:] == [["o1"], ["bad"], ["bad"], ["bad"], ["o2"]]


async def test_a_redelivered_batch_changes_nothing_and_a_partly_seen_one_does_the_rest() -> None:
    use_case = BatchUseCase()
    consumer, _, _ = make_consumer(use_case)
    first = [placed_record("o1", offset=0), placed_record("o2", offset=1)]
    await consumer.handle_records(first)

    again = await consumer.handle_records([*first, placed_record("o3", offset=2)])

    assert again == ["duplicate", "duplicate", "processed"]
    assert use_case.effects == ["o1", "o2", "o3"]


async def test_another_kind_of_message_is_handled_after_the_batch_before_it() -> None:
    use_case, single = BatchUseCase(), SingleUseCase()
    consumer, _, _ = make_consumer(use_case, single)
    order = an_order_placed(order_id="o1")
    cancelled = OrderCancelled(
        order_id="o1", customer_id=order.customer_id, cancelled_at=order.placed_at
    )
    records = [
        record_of(envelope_of(order)),
        record_of(build_envelope(cancelled, tenant_id="demo", source="orders")),
        placed_record("o2"),
    ]

    outcomes = await consumer.handle_records(records)

    assert outcomes == ["processed"] * 3
    assert use_case.batches == [["o1"], ["o2"]]
    assert single.effects == ["cancelled o1"]


async def test_undecodable_and_unhandled_records_in_a_batch_do_not_hold_up_the_others() -> None:
    use_case = BatchUseCase()
    consumer, _, dead_letters = make_consumer(use_case)
    records = [placed_record("o1"), FakeRecord(value=b"not json", offset=1), placed_record("o2")]

    outcomes = await consumer.handle_records(records)

    assert outcomes == ["processed", "dead_lettered", "processed"]
    assert use_case.batches == [["o1", "o2"]]
    assert [call.reason for call in dead_letters.calls] == ["invalid"]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["demo", "acme"]), st.booleans()), min_size=1, max_size=12),
    st.data(),
)
async def test_batches_end_with_the_effects_and_outcomes_of_one_at_a_time(
    messages: list[tuple[str, bool]], data: st.DataObject
) -> None:
    """Whatever the mix of tenants, poison and redeliveries, a batch ends as handling each
    record alone would: the same outcome per record and the same effects per tenant."""
    records = [
        placed_record(("bad" if poison else "ok") + f"-{n}", tenant_id=tenant, offset=n)
        for n, (tenant, poison) in enumerate(messages)
    ]
    redelivered = data.draw(st.lists(st.sampled_from(records), max_size=3))
    # some come twice within the poll, as a producer's retry can make them
    records += data.draw(st.lists(st.sampled_from(records), max_size=2))
    poison = frozenset(f"bad-{n}" for n, (_, bad) in enumerate(messages) if bad)

    alone_use_case = BatchUseCase(poison)
    alone, _, _ = make_consumer(alone_use_case)
    batched_use_case = BatchUseCase(poison)
    batched, _, _ = make_consumer(batched_use_case)
    with structlog.testing.capture_logs():  # no rendering of every poison's traceback
        alone_outcomes = [await alone.handle_record(r) for r in [*records, *redelivered]]
        batched_outcomes = await batched.handle_records(records)
        batched_outcomes += await batched.handle_records(redelivered) if redelivered else []

    assert batched_outcomes == alone_outcomes
    assert sorted(batched_use_case.effects) == sorted(alone_use_case.effects)
