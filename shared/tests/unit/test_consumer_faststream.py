"""An EventConsumer subscribed to an in-memory FastStream broker, DLQ included."""

from __future__ import annotations

import uuid
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker

from patron_shared.events import OrderPlaced
from patron_shared.messaging import DeadLetterPublisher, EventConsumer, RetryPolicy

from .fakes import ORDER_TOPIC, FakeUnitOfWorkFactory, UseCase, an_order_placed, envelope_of


def subscribed_consumer(broker: KafkaBroker, handler: UseCase) -> EventConsumer[Any]:
    consumer: EventConsumer[Any] = EventConsumer(
        name=f"orders-test-{uuid.uuid4().hex[:8]}",
        topics=[ORDER_TOPIC],
        uow_factory=FakeUnitOfWorkFactory(),
        retry=RetryPolicy(max_attempts=2, backoff_ms=0),
    )
    consumer.on(OrderPlaced, handler)
    consumer.subscribe(broker, DeadLetterPublisher(broker))
    return consumer


def dead_letter_sink(broker: KafkaBroker) -> list[KafkaMessage]:
    received: list[KafkaMessage] = []

    @broker.subscriber(f"{ORDER_TOPIC}.dlq", group_id="dlq-watcher")
    async def watch(message: KafkaMessage) -> None:
        received.append(message)

    return received


async def test_a_published_order_reaches_the_handler_as_a_typed_order_placed() -> None:
    broker = KafkaBroker()
    handler = UseCase()
    subscribed_consumer(broker, handler)
    dead_letters = dead_letter_sink(broker)
    event = an_order_placed()
    envelope = envelope_of(event)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            envelope.to_json_bytes(), topic=ORDER_TOPIC, key=str(event.customer_id).encode()
        )

    assert handler.effects == [event]
    assert isinstance(handler.effects[0], OrderPlaced)
    assert dead_letters == []


async def test_the_subscriber_joins_the_consumer_group_and_commits_offsets_itself() -> None:
    broker = KafkaBroker()
    consumer = subscribed_consumer(broker, UseCase())

    subscriptions = [
        (list(subscriber.topic_names), subscriber.group_id, subscriber.ack_policy)
        for subscriber in broker.subscribers
    ]

    # MANUAL: offsets are committed by the consumer after the database commit, never by
    # FastStream on receipt (the default auto-commit is at-most-once).
    assert subscriptions == [([ORDER_TOPIC], consumer.name, AckPolicy.MANUAL)]


async def test_an_undecodable_message_lands_on_the_dlq_topic_with_its_original_bytes() -> None:
    broker = KafkaBroker()
    handler = UseCase()
    consumer = subscribed_consumer(broker, handler)
    dead_letters = dead_letter_sink(broker)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            b"{definitely not an envelope",
            topic=ORDER_TOPIC,
            key=b"customer-1",
            headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        )

    assert handler.calls == []
    [dead] = dead_letters
    assert dead.body == b"{definitely not an envelope"
    assert dead.raw_message.key == b"customer-1"
    assert dead.headers["x-dlq-original-topic"] == ORDER_TOPIC
    assert dead.headers["x-dlq-consumer-group"] == consumer.name
    assert dead.headers["x-dlq-attempts"] == "1"
    assert dead.headers["x-dlq-error-type"] == "ValidationError"
    assert dead.headers["traceparent"].startswith("00-0af7651916cd43dd")


async def test_an_order_whose_handler_keeps_failing_lands_on_the_dlq_after_its_retries() -> None:
    broker = KafkaBroker()
    handler = UseCase(RuntimeError("first"), RuntimeError("second and last"))
    subscribed_consumer(broker, handler)
    dead_letters = dead_letter_sink(broker)
    envelope = envelope_of(an_order_placed())

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(envelope.to_json_bytes(), topic=ORDER_TOPIC)

    assert len(handler.calls) == 2
    assert handler.effects == []
    [dead] = dead_letters
    assert dead.body == envelope.to_json_bytes()
    assert dead.headers["x-dlq-attempts"] == "2"
    assert dead.headers["x-dlq-error-message"] == "second and last"
