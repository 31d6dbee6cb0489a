"""Dead letters: a message that can never be processed goes to `<topic>.dlq` with the error."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from patron_shared.events import dead_letter_topic, utcnow

DEAD_LETTERS = Counter(
    "patron_dead_letters_total",
    "Messages sent to a dead-letter topic",
    ["consumer", "topic", "reason"],
)
_MAX_ERROR_MESSAGE = 2000


def dead_letter_headers(
    *,
    error: BaseException,
    topic: str,
    partition: int,
    offset: int,
    consumer: str,
    attempts: int,
) -> dict[str, str]:
    return {
        "x-dlq-error-type": type(error).__name__,
        "x-dlq-error-message": str(error)[:_MAX_ERROR_MESSAGE],
        "x-dlq-original-topic": topic,
        "x-dlq-original-partition": str(partition),
        "x-dlq-original-offset": str(offset),
        "x-dlq-consumer-group": consumer,
        "x-dlq-attempts": str(attempts),
        "x-dlq-failed-at": utcnow().isoformat(),
    }


class DeadLetterPublisher:
    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def send(
        self,
        record: Any,
        *,
        error: BaseException,
        consumer: str,
        attempts: int,
        reason: str,
    ) -> None:
        """Publish the original bytes, key and headers plus the error; waits for the ack."""
        original_headers = {
            key: value.decode(errors="replace")
            for key, value in (record.headers or ())
            if not key.startswith("x-dlq-")
        }
        headers = original_headers | dead_letter_headers(
            error=error,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            consumer=consumer,
            attempts=attempts,
        )
        await self._broker.publish(
            record.value or b"",
            topic=dead_letter_topic(record.topic),
            key=record.key,
            headers=headers,
        )
        DEAD_LETTERS.labels(consumer=consumer, topic=record.topic, reason=reason).inc()
