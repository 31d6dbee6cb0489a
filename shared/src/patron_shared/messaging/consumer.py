"""Envelope consumers: decode, dedupe through the inbox, retry, dead-letter, then ack.

Every subscriber in Patron is built here so that each one:
- sets `group_id` and an explicit ack policy (manual): an offset is committed only after
  the handler's transaction committed, batched in time by `TrailingOffsetCommitter`
  (at-least-once delivery, exactly-once effect via the inbox);
- runs `concurrency` consumers of the group in the process when it reads one topic, so
  partitions are handled in parallel while each partition keeps its order;
- sends undecodable or invalid messages to `<topic>.dlq` at once, and messages whose handler
  keeps failing after `RetryPolicy.max_attempts` tries with exponential backoff;
- never lets one message stop the partition unless the DLQ itself cannot be reached (then
  the message is nacked and redelivered, so nothing accepted is lost).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from patron_shared.db.uow import AlreadyDelivered, UnitOfWork
from patron_shared.errors import PermanentFailure
from patron_shared.events import CONTRACTS, Contract, ContractRegistry, Envelope
from patron_shared.events.registry import UnknownMessageType
from patron_shared.logging import get_logger
from patron_shared.messaging.dead_letters import DeadLetterPublisher
from patron_shared.messaging.offsets import TrailingOffsetCommitter
from patron_shared.settings import ServiceSettings
from patron_shared.tracing import trace_context_from

UowT = TypeVar("UowT", bound=UnitOfWork)
ContractT = TypeVar("ContractT", bound=Contract)
EventHandler = Callable[[UowT, ContractT], Awaitable[None]]
Outcome = Literal["processed", "duplicate", "ignored", "dead_lettered"]

MESSAGES = Counter(
    "patron_consumer_messages_total",
    "Messages a consumer finished with, by outcome",
    ["consumer", "type", "outcome"],
)
RETRIES = Counter("patron_consumer_retries_total", "Handler retries", ["consumer", "type"])
HANDLE_SECONDS = Histogram(
    "patron_consumer_handle_seconds", "Time to handle one message", ["consumer", "type"]
)
_DLQ_UNREACHABLE_PAUSE_S = 2.0
log = get_logger("patron.consumer")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_ms: int = 200
    backoff_max_ms: int = 10_000

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> RetryPolicy:
        return cls(
            max_attempts=settings.consumer_max_attempts,
            backoff_ms=settings.consumer_retry_backoff_ms,
            backoff_max_ms=settings.consumer_retry_backoff_max_ms,
        )

    def delay_seconds(self, attempt: int) -> float:
        """Exponential backoff with jitter before retry number `attempt` (1-based)."""
        base_ms: int = min(self.backoff_max_ms, self.backoff_ms * 2 ** (attempt - 1))
        return base_ms / 1000 * random.uniform(0.5, 1.5)


class EventConsumer(Generic[UowT]):
    """One consumer group over some topics, routing envelope types to use cases.

    `uow_factory(envelope, consumer_name)` builds the unit of work for one delivery; the
    consumer claims the message in the inbox in that transaction before calling the handler,
    and the handler (a use case) commits it.
    """

    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        uow_factory: Callable[[Envelope, str], UowT],
        retry: RetryPolicy | None = None,
        registry: ContractRegistry = CONTRACTS,
        offset_reset: Literal["earliest", "latest"] = "earliest",
        concurrency: int = 1,
        commit_interval_s: float = 0.2,
    ) -> None:
        self.name = name
        self._offset_reset = offset_reset
        self._concurrency = concurrency
        self.offsets = TrailingOffsetCommitter(commit_interval_s)
        # Plain strings: an enum member hashes by name, so client libraries' dicts miss it.
        self.topics = [str(topic) for topic in topics]
        self._uow_factory = uow_factory
        self._retry = retry or RetryPolicy()
        self._registry = registry
        self._handlers: dict[str, Callable[[UowT, Any], Awaitable[None]]] = {}
        self._dead_letters: DeadLetterPublisher | None = None

    def on(self, contract: type[ContractT], handler: EventHandler[UowT, ContractT]) -> None:
        if contract.event_type in self._handlers:
            raise ValueError(f"{self.name} already handles {contract.event_type}")
        self._handlers[contract.event_type] = handler

    @property
    def handled_types(self) -> list[str]:
        return sorted(self._handlers)

    def subscribe(
        self, broker: KafkaBroker | KafkaRouter, dead_letters: DeadLetterPublisher
    ) -> None:
        self._dead_letters = dead_letters

        async def consume(message: KafkaMessage) -> None:
            try:
                await self.handle_record(message.raw_message)
            except Exception:
                # Only when even the DLQ is unreachable: rewind so the message comes again.
                await message.nack()
                return
            await self.offsets.handled(message.consumer, message.raw_message)

        consume.__name__ = f"consume_{self.name.replace('-', '_').replace('.', '_')}"
        # FastStream runs several consumers of a group only for a single topic.
        workers = self._concurrency if len(self.topics) == 1 else 1
        broker.subscriber(
            *self.topics,
            group_id=self.name,
            ack_policy=AckPolicy.MANUAL,
            max_workers=workers,
            auto_offset_reset=self._offset_reset,
            max_poll_interval_ms=10 * 60 * 1000,
            title=self.name,
        )(consume)

    async def handle_record(self, record: Any) -> Outcome:
        """Handle one Kafka record to the end; returns what became of it."""
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        structlog.contextvars.clear_contextvars()
        with trace_context_from(headers):
            try:
                envelope = Envelope.model_validate_json(record.value or b"")
            except ValidationError as error:
                return await self._dead_letter(record, error, attempts=1, type_="<invalid>")
            structlog.contextvars.bind_contextvars(
                message_id=str(envelope.id),
                message_type=envelope.type,
                tenant_id=envelope.tenant_id,
                correlation_id=envelope.correlation_id or str(envelope.id),
                consumer=self.name,
            )
            handler = self._handlers.get(envelope.type)
            if handler is None:
                MESSAGES.labels(self.name, envelope.type, "ignored").inc()
                return "ignored"
            try:
                data = self._registry.parse_data(envelope)
            except (ValidationError, UnknownMessageType) as error:
                return await self._dead_letter(record, error, attempts=1, type_=envelope.type)
            return await self._handle_with_retries(record, envelope, data, handler)

    async def _handle_with_retries(
        self,
        record: Any,
        envelope: Envelope,
        data: Contract,
        handler: Callable[[UowT, Any], Awaitable[None]],
    ) -> Outcome:
        attempt = 1
        while True:
            started = time.perf_counter()
            try:
                await handler(self._uow_factory(envelope, self.name), data)
            except AlreadyDelivered:
                MESSAGES.labels(self.name, envelope.type, "duplicate").inc()
                return "duplicate"
            except PermanentFailure as error:
                return await self._dead_letter(record, error, attempts=attempt, type_=envelope.type)
            except Exception as error:
                if attempt >= self._retry.max_attempts:
                    log.exception("handler failed for good", attempts=attempt)
                    return await self._dead_letter(
                        record, error, attempts=attempt, type_=envelope.type
                    )
                RETRIES.labels(self.name, envelope.type).inc()
                log.warning("handler failed, retrying", attempt=attempt, error=repr(error))
                await asyncio.sleep(self._retry.delay_seconds(attempt))
                attempt += 1
                continue
            HANDLE_SECONDS.labels(self.name, envelope.type).observe(time.perf_counter() - started)
            MESSAGES.labels(self.name, envelope.type, "processed").inc()
            return "processed"

    async def _dead_letter(
        self, record: Any, error: BaseException, *, attempts: int, type_: str
    ) -> Outcome:
        if self._dead_letters is None:
            raise RuntimeError("consumer is not subscribed: no dead-letter publisher")
        reason = "invalid" if isinstance(error, ValidationError | UnknownMessageType) else "failed"
        try:
            await self._dead_letters.send(
                record, error=error, consumer=self.name, attempts=attempts, reason=reason
            )
        except Exception:
            # Without the DLQ the message must not be acked: pause, then let it come again.
            log.exception("dead-letter topic unreachable; message will be redelivered")
            await asyncio.sleep(_DLQ_UNREACHABLE_PAUSE_S)
            raise
        log.warning("message dead-lettered", reason=reason, error=str(error)[:500])
        MESSAGES.labels(self.name, type_, "dead_lettered").inc()
        return "dead_lettered"
