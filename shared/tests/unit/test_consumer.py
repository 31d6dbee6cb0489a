"""EventConsumer: decode, route, retry with backoff, dedupe through the inbox, dead-letter."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from pydantic import ValidationError

from patron_shared.db.uow import AlreadyDelivered
from patron_shared.errors import PermanentFailure
from patron_shared.events import OrderCancelled, OrderPaid, OrderPlaced
from patron_shared.messaging import EventConsumer, RetryPolicy
from patron_shared.messaging import consumer as consumer_module
from patron_shared.settings import ServiceSettings

from .fakes import (
    AlwaysFails,
    FakeRecord,
    FakeUnitOfWorkFactory,
    RecordingDeadLetters,
    UseCase,
    an_order_placed,
    envelope_of,
    record_of,
)

NO_WAIT = RetryPolicy(max_attempts=5, backoff_ms=0)


def make_consumer(
    retry: RetryPolicy = NO_WAIT,
) -> tuple[EventConsumer[Any], FakeUnitOfWorkFactory, RecordingDeadLetters]:
    uows = FakeUnitOfWorkFactory()
    consumer: EventConsumer[Any] = EventConsumer(
        name=f"test-consumer-{uuid.uuid4().hex[:8]}",
        topics=["patron.order.events.v1"],
        uow_factory=uows,
        retry=retry,
    )
    dead_letters = RecordingDeadLetters()
    consumer._dead_letters = dead_letters  # type: ignore[assignment]
    return consumer, uows, dead_letters


def messages_counted(consumer: EventConsumer[Any], type_: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "patron_consumer_messages_total",
        {"consumer": consumer.name, "type": type_, "outcome": outcome},
    )
    return value or 0.0


async def test_a_valid_order_placed_reaches_its_handler_typed_and_is_processed() -> None:
    consumer, uows, dead_letters = make_consumer()
    handler = UseCase()
    consumer.on(OrderPlaced, handler)
    event = an_order_placed()

    outcome = await consumer.handle_record(record_of(envelope_of(event)))

    assert outcome == "processed"
    assert handler.effects == [event]
    assert isinstance(handler.effects[0], OrderPlaced)
    assert [uow.committed for uow in uows.made] == [True]
    assert dead_letters.calls == []
    assert messages_counted(consumer, "OrderPlaced", "processed") == 1


async def test_the_unit_of_work_is_built_for_the_delivered_envelope_and_this_consumer() -> None:
    consumer, uows, _ = make_consumer()
    consumer.on(OrderPlaced, UseCase())
    envelope = envelope_of(an_order_placed(), tenant_id="acme")

    await consumer.handle_record(record_of(envelope))

    assert [(uow.envelope, uow.consumer, uow.tenant_id) for uow in uows.made] == [
        (envelope, consumer.name, "acme")
    ]


@pytest.mark.parametrize(
    "value",
    [b"{not json", b"", None, b'{"type": "OrderPlaced"}', b"\xff\xfe\x00"],
    ids=["broken-json", "empty", "tombstone", "missing-envelope-fields", "not-utf8"],
)
async def test_an_undecodable_message_is_dead_lettered_at_once_without_calling_the_handler(
    value: bytes | None,
) -> None:
    consumer, uows, dead_letters = make_consumer()
    handler = UseCase()
    consumer.on(OrderPlaced, handler)
    record = FakeRecord(value=value, offset=41)

    outcome = await consumer.handle_record(record)

    assert outcome == "dead_lettered"
    assert handler.calls == []
    assert uows.made == []
    [call] = dead_letters.calls
    assert call.record is record
    assert call.attempts == 1
    assert call.reason == "invalid"
    assert call.consumer == consumer.name
    assert isinstance(call.error, ValidationError)
    assert messages_counted(consumer, "<invalid>", "dead_lettered") == 1


async def test_an_order_placed_with_a_float_total_is_dead_lettered_at_once_as_invalid() -> None:
    consumer, _, dead_letters = make_consumer()
    handler = UseCase()
    consumer.on(OrderPlaced, handler)
    envelope = envelope_of(an_order_placed())
    payload = json.loads(envelope.to_json_bytes())
    payload["data"]["total"] = 125.0

    outcome = await consumer.handle_record(FakeRecord(value=json.dumps(payload).encode()))

    assert outcome == "dead_lettered"
    assert handler.calls == []
    [call] = dead_letters.calls
    assert (call.attempts, call.reason) == (1, "invalid")
    assert isinstance(call.error, ValidationError)
    assert "total" in str(call.error)
    assert messages_counted(consumer, "OrderPlaced", "dead_lettered") == 1


@pytest.mark.parametrize("message_type", ["OrderPaid", "SomethingNobodyKnows"])
async def test_a_message_type_the_consumer_does_not_handle_is_ignored_without_a_dead_letter(
    message_type: str,
) -> None:
    consumer, uows, dead_letters = make_consumer()
    handler = UseCase()
    consumer.on(OrderPlaced, handler)
    envelope = envelope_of(an_order_placed()).model_copy(
        update={"type": message_type, "data": {"anything": "at all"}}
    )

    outcome = await consumer.handle_record(record_of(envelope))

    assert outcome == "ignored"
    assert handler.calls == []
    assert uows.made == []
    assert dead_letters.calls == []
    assert messages_counted(consumer, message_type, "ignored") == 1


async def test_each_type_goes_to_its_own_handler() -> None:
    consumer, _, _ = make_consumer()
    placed, cancelled = UseCase(), UseCase()
    consumer.on(OrderPlaced, placed)
    consumer.on(OrderCancelled, cancelled)
    event = an_order_placed()
    cancellation = OrderCancelled(
        order_id=event.order_id, customer_id=event.customer_id, cancelled_at=event.placed_at
    )

    await consumer.handle_record(record_of(envelope_of(event)))
    await consumer.handle_record(
        record_of(
            envelope_of(event).model_copy(
                update={"type": "OrderCancelled", "data": cancellation.model_dump(mode="json")}
            )
        )
    )

    assert placed.effects == [event]
    assert cancelled.effects == [cancellation]
    assert consumer.handled_types == ["OrderCancelled", "OrderPlaced"]


async def test_a_handler_that_fails_twice_then_succeeds_is_processed_after_three_calls() -> None:
    consumer, uows, dead_letters = make_consumer()
    handler = UseCase(RuntimeError("db blip"), ConnectionError("db gone"))
    consumer.on(OrderPlaced, handler)
    event = an_order_placed()

    outcome = await consumer.handle_record(record_of(envelope_of(event)))

    assert outcome == "processed"
    assert len(handler.calls) == 3
    assert handler.effects == [event]
    assert [(uow.committed, uow.rolled_back) for uow in uows.made] == [
        (False, True),
        (False, True),
        (True, False),
    ]
    assert dead_letters.calls == []


class CountingPolicy(RetryPolicy):
    """A retry policy that waits nothing and remembers which retries it was asked about."""

    def __init__(self, max_attempts: int) -> None:
        super().__init__(max_attempts=max_attempts, backoff_ms=0)
        object.__setattr__(self, "asked", [])

    def delay_seconds(self, attempt: int) -> float:
        self.asked.append(attempt)  # type: ignore[attr-defined]
        return 0.0


async def test_the_consumer_backs_off_before_every_retry_and_never_after_the_last_try() -> None:
    policy = CountingPolicy(max_attempts=4)
    consumer, _, _ = make_consumer(policy)
    consumer.on(OrderPlaced, AlwaysFails())

    await consumer.handle_record(record_of(envelope_of(an_order_placed())))

    assert policy.asked == [1, 2, 3]  # type: ignore[attr-defined]


@pytest.mark.parametrize("max_attempts", [1, 3, 5])
async def test_a_message_that_keeps_failing_goes_to_the_dlq_after_max_attempts(
    max_attempts: int,
) -> None:
    consumer, _, dead_letters = make_consumer(RetryPolicy(max_attempts=max_attempts, backoff_ms=0))
    handler = AlwaysFails(ConnectionError)
    consumer.on(OrderPlaced, handler)
    record = record_of(envelope_of(an_order_placed()))

    outcome = await consumer.handle_record(record)

    assert outcome == "dead_lettered"
    assert handler.calls == max_attempts
    [call] = dead_letters.calls
    assert call.record is record
    assert call.attempts == max_attempts
    assert call.reason == "failed"
    assert call.error is handler.last_error
    assert str(call.error) == f"boom on call {max_attempts}"


async def test_a_permanent_failure_is_dead_lettered_after_one_call() -> None:
    consumer, _, dead_letters = make_consumer()
    failure = PermanentFailure("customer was erased")
    handler = UseCase(failure)
    consumer.on(OrderPlaced, handler)

    outcome = await consumer.handle_record(record_of(envelope_of(an_order_placed())))

    assert outcome == "dead_lettered"
    assert len(handler.calls) == 1
    [call] = dead_letters.calls
    assert (call.attempts, call.reason, call.error) == (1, "failed", failure)


async def test_a_redelivered_message_is_a_duplicate_and_changes_nothing() -> None:
    consumer, _, dead_letters = make_consumer()
    handler = UseCase()
    consumer.on(OrderPlaced, handler)
    record = record_of(envelope_of(an_order_placed()))

    first = await consumer.handle_record(record)
    second = await consumer.handle_record(record)

    assert (first, second) == ("processed", "duplicate")
    assert len(handler.effects) == 1
    assert dead_letters.calls == []
    assert messages_counted(consumer, "OrderPlaced", "duplicate") == 1


async def test_already_delivered_from_the_handler_is_a_duplicate_without_retries() -> None:
    consumer, _, dead_letters = make_consumer()
    handler = UseCase(AlreadyDelivered([uuid.uuid4()]))
    consumer.on(OrderPlaced, handler)

    outcome = await consumer.handle_record(record_of(envelope_of(an_order_placed())))

    assert outcome == "duplicate"
    assert len(handler.calls) == 1
    assert dead_letters.calls == []


async def test_the_same_message_for_two_consumer_groups_is_processed_by_each() -> None:
    first, _, _ = make_consumer()
    second, _, _ = make_consumer()
    shared_inbox = FakeUnitOfWorkFactory()
    first._uow_factory = second._uow_factory = shared_inbox
    first.on(OrderPlaced, UseCase())
    second.on(OrderPlaced, UseCase())
    record = record_of(envelope_of(an_order_placed()))

    outcomes = [await first.handle_record(record), await second.handle_record(record)]

    assert outcomes == ["processed", "processed"]


async def test_when_the_dlq_cannot_be_reached_the_message_is_nacked_not_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer_module, "_DLQ_UNREACHABLE_PAUSE_S", 0)
    consumer, _, dead_letters = make_consumer()
    outage = ConnectionError("dlq broker down")
    dead_letters.fail_with = outage
    consumer.on(OrderPlaced, UseCase(PermanentFailure("never works")))

    with pytest.raises(ConnectionError) as raised:
        await consumer.handle_record(record_of(envelope_of(an_order_placed())))

    assert raised.value is outage
    assert messages_counted(consumer, "OrderPlaced", "dead_lettered") == 0


async def test_an_invalid_message_is_nacked_too_when_the_dlq_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer_module, "_DLQ_UNREACHABLE_PAUSE_S", 0)
    consumer, _, dead_letters = make_consumer()
    dead_letters.fail_with = TimeoutError("no ack from dlq")
    consumer.on(OrderPlaced, UseCase())

    with pytest.raises(TimeoutError):
        await consumer.handle_record(FakeRecord(value=b"garbage"))


async def test_a_consumer_that_was_never_subscribed_refuses_to_drop_a_bad_message() -> None:
    consumer, _, _ = make_consumer()
    consumer._dead_letters = None

    with pytest.raises(RuntimeError, match="no dead-letter publisher"):
        await consumer.handle_record(FakeRecord(value=b"garbage"))


def test_registering_a_second_handler_for_one_type_is_refused() -> None:
    consumer, _, _ = make_consumer()
    consumer.on(OrderPaid, UseCase())

    with pytest.raises(ValueError, match="OrderPaid"):
        consumer.on(OrderPaid, UseCase())
    assert consumer.handled_types == ["OrderPaid"]


@given(
    backoff_ms=st.integers(min_value=0, max_value=100_000),
    backoff_max_ms=st.integers(min_value=0, max_value=1_000_000),
    attempt=st.integers(min_value=1, max_value=64),
)
def test_the_retry_delay_stays_within_half_and_one_and_a_half_of_the_capped_backoff(
    backoff_ms: int, backoff_max_ms: int, attempt: int
) -> None:
    policy = RetryPolicy(max_attempts=5, backoff_ms=backoff_ms, backoff_max_ms=backoff_max_ms)
    capped_s = min(backoff_max_ms, backoff_ms * 2 ** (attempt - 1)) / 1000

    delay = policy.delay_seconds(attempt)

    assert capped_s * 0.5 <= delay <= capped_s * 1.5


def test_the_retry_delay_is_jittered() -> None:
    policy = RetryPolicy(backoff_ms=200, backoff_max_ms=10_000)

    delays = {policy.delay_seconds(3) for _ in range(50)}

    assert len(delays) > 1


def test_the_retry_policy_reads_the_service_settings() -> None:
    settings = ServiceSettings(
        consumer_max_attempts=7,
        consumer_retry_backoff_ms=50,
        consumer_retry_backoff_max_ms=900,
    )

    assert RetryPolicy.from_settings(settings) == RetryPolicy(
        max_attempts=7, backoff_ms=50, backoff_max_ms=900
    )
