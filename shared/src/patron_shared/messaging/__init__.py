"""Kafka plumbing: broker factory, envelope consumers (inbox + retries + DLQ), outbox relay."""

from patron_shared.messaging.broker import create_broker, create_producer
from patron_shared.messaging.consumer import (
    BatchHandler,
    EventConsumer,
    EventHandler,
    RetryPolicy,
)
from patron_shared.messaging.dead_letters import DeadLetterPublisher, dead_letter_headers
from patron_shared.messaging.relay import OutboxRelay

__all__ = [
    "BatchHandler",
    "DeadLetterPublisher",
    "EventConsumer",
    "EventHandler",
    "OutboxRelay",
    "RetryPolicy",
    "create_broker",
    "create_producer",
    "dead_letter_headers",
]
