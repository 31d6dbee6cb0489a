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

Types registered with `on_batch` are handled many at a time: the consumer takes up to
`batch_max_records` per poll and gives each tenant's run of them to the use case in one unit
of work (one transaction, one inbox claim for all). A batch holding messages handled before
is handled again without them; a batch that fails is handled again message by message on
the path above, so a poison message still goes alone to the DLQ. The batch path is only
ever a faster way to the same result.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
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
from patron_shared.events import CONTRACTS, Contract, ContractRegistry, Delivery, Envelope
from patron_shared.events.registry import UnknownMessageType
from patron_shared.logging import get_logger
from patron_shared.messaging.dead_letters import DeadLetterPublisher
from patron_shared.messaging.offsets import TrailingOffsetCommitter
from patron_shared.settings import ServiceSettings
from patron_shared.tracing import trace_context_from

UowT = TypeVar("UowT", bound=UnitOfWork)
ContractT = TypeVar("ContractT", bound=Contract)
EventHandler = Callable[[UowT, ContractT], Awaitable[None]]
BatchHandler = Callable[[UowT, Sequence[Delivery[ContractT]]], Awaitable[None]]
# (tenant, envelopes, consumer name) -> a unit of work claiming all of them
BatchUowFactory = Callable[[str, Sequence[Envelope], str], UowT]
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
BATCH_SECONDS = Histogram(
    "patron_consumer_batch_seconds", "Time to handle one batch of messages", ["consumer"]
)
BATCH_SIZE = Histogram(
    "patron_consumer_batch_size",
    "Messages per batch handed to a batch use case",
    ["consumer"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
)
BATCH_FALLBACKS = Counter(
    "patron_consumer_batch_fallbacks_total",
    "Batches that failed whole and were handled again message by message",
    ["consumer"],
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


# What a handler is called with: a unit of work, the delivered envelope and its data.
_Handler = Callable[[Any, Envelope, Any], Awaitable[None]]


@dataclass
class _Decoded:
    """A record whose envelope and data are understood."""

    record: Any
    envelope: Envelope
    data: Contract


class EventConsumer(Generic[UowT]):
    """One consumer group over some topics, routing envelope types to use cases.

    `uow_factory(envelope, consumer_name)` builds the unit of work for one delivery; the
    consumer claims the message in the inbox in that transaction before calling the handler,
    and the handler (a use case) commits it. `batch_uow_factory(tenant, envelopes,
    consumer_name)` does the same for a batch of one tenant's deliveries.
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
        batch_uow_factory: BatchUowFactory[UowT] | None = None,
        batch_concurrency: int = 2,
        batch_max_records: int = 500,
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
        self._handlers: dict[str, _Handler] = {}
        self._batch_handlers: dict[str, BatchHandler[UowT, Any]] = {}
        self._batch_uow_factory = batch_uow_factory
        self._batch_concurrency = batch_concurrency
        self._batch_max_records = batch_max_records
        self._dead_letters: DeadLetterPublisher | None = None

    def on(self, contract: type[ContractT], handler: EventHandler[UowT, ContractT]) -> None:
        async def handle(uow: UowT, envelope: Envelope, data: ContractT) -> None:
            await handler(uow, data)

        self._register(contract, handle)

    def on_batch(
        self, contracts: Sequence[type[ContractT]], handler: BatchHandler[UowT, ContractT]
    ) -> None:
        """`handler` takes a run of deliveries of any of `contracts`, in the order they came
        (one tenant's, in one unit of work); a single delivery comes as a batch of one."""
        if self._batch_uow_factory is None:
            raise ValueError(f"{self.name} has no unit of work for batches")

        async def handle(uow: UowT, envelope: Envelope, data: ContractT) -> None:
            await handler(uow, [Delivery(envelope, data)])

        for contract in contracts:
            self._register(contract, handle)
            self._batch_handlers[contract.event_type] = handler

    def _register(self, contract: type[Contract], handle: _Handler) -> None:
        if contract.event_type in self._handlers:
            raise ValueError(f"{self.name} already handles {contract.event_type}")
        self._handlers[contract.event_type] = handle

    @property
    def handled_types(self) -> list[str]:
        return sorted(self._handlers)

    def subscribe(
        self, broker: KafkaBroker | KafkaRouter, dead_letters: DeadLetterPublisher
    ) -> None:
        self._dead_letters = dead_letters
        options: dict[str, Any] = {
            "group_id": self.name,
            "ack_policy": AckPolicy.MANUAL,
            "auto_offset_reset": self._offset_reset,
            "max_poll_interval_ms": 10 * 60 * 1000,
            "title": self.name,
        }
        if not self._batch_handlers:
            # FastStream runs several consumers of a group only for a single topic.
            options["max_workers"] = self._concurrency if len(self.topics) == 1 else 1
            broker.subscriber(*self.topics, **options)(self._consume_function(0))
            return
        # Batches: each consumer of the group takes what has arrived on its partitions
        # (waiting at most 100 ms when nothing has); a second one keeps the process busy
        # while the first waits for the database (more only contend for the CPU).
        options |= {"batch": True, "max_records": self._batch_max_records, "batch_timeout_ms": 100}
        for number in range(self._batch_concurrency):
            broker.subscriber(*self.topics, **options)(self._consume_function(number))

    def _consume_function(self, number: int) -> Callable[[KafkaMessage], Awaitable[None]]:
        async def consume(message: KafkaMessage) -> None:
            records = message.raw_message
            batch: tuple[Any, ...] = records if isinstance(records, tuple) else (records,)
            try:
                if len(batch) == 1:
                    await self.handle_record(batch[0])
                else:
                    await self.handle_records(batch)
            except Exception:
                # Only when even the DLQ is unreachable: rewind so the messages come again
                # (those already handled are then duplicates to the inbox).
                await message.nack()
                return
            for record in batch:
                await self.offsets.handled(message.consumer, record)

        name = self.name.replace("-", "_").replace(".", "_")
        consume.__name__ = f"consume_{name}" + (f"_{number}" if number else "")
        return consume

    async def handle_record(self, record: Any) -> Outcome:
        """Handle one Kafka record to the end; returns what became of it."""
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        structlog.contextvars.clear_contextvars()
        with trace_context_from(headers):
            decoded = await self._decode(record)
            if not isinstance(decoded, _Decoded):
                return decoded
            return await self._handle_with_retries(decoded)

    async def handle_records(self, records: Sequence[Any]) -> list[Outcome]:
        """Handle records as they came from one poll, batch types in batches; returns what
        became of each, in order.

        Each tenant's run of batch-type messages between two others is one batch; any other
        message is handled alone, after the batches before it, so a partition's order holds
        across kinds of handling.
        """
        structlog.contextvars.clear_contextvars()
        outcomes: dict[int, Outcome] = {}
        runs: dict[tuple[str, int], list[tuple[int, _Decoded]]] = {}

        async def handle_runs() -> None:
            for run in runs.values():
                for index, outcome in zip(
                    (index for index, _ in run),
                    await self._handle_batch([decoded for _, decoded in run]),
                    strict=True,
                ):
                    outcomes[index] = outcome
            runs.clear()

        for index, record in enumerate(records):
            decoded = await self._decode(record)
            if not isinstance(decoded, _Decoded):
                outcomes[index] = decoded
                continue
            handler = self._batch_handlers.get(decoded.envelope.type)
            if handler is None:
                await handle_runs()
                outcomes[index] = await self.handle_record(record)
                continue
            runs.setdefault((decoded.envelope.tenant_id, id(handler)), []).append((index, decoded))
        await handle_runs()
        return [outcomes[index] for index in range(len(records))]

    async def _decode(self, record: Any) -> _Decoded | Outcome:
        """The record's envelope and data, or what became of a record that has none (or no
        handler here)."""
        try:
            envelope = Envelope.model_validate_json(record.value or b"")
        except ValidationError as error:
            structlog.contextvars.clear_contextvars()  # no other message's ids on this one
            structlog.contextvars.bind_contextvars(consumer=self.name)
            return await self._dead_letter(record, error, attempts=1, type_="<invalid>")
        if envelope.type not in self._handlers:
            MESSAGES.labels(self.name, envelope.type, "ignored").inc()
            return "ignored"
        try:
            data = self._registry.parse_data(envelope)
        except (ValidationError, UnknownMessageType) as error:
            self._bind_log_context(envelope)
            return await self._dead_letter(record, error, attempts=1, type_=envelope.type)
        return _Decoded(record, envelope, data)

    def _bind_log_context(self, envelope: Envelope) -> None:
        structlog.contextvars.bind_contextvars(
            message_id=str(envelope.id),
            message_type=envelope.type,
            tenant_id=envelope.tenant_id,
            correlation_id=envelope.correlation_id or str(envelope.id),
            consumer=self.name,
        )

    async def _handle_batch(self, run: list[_Decoded]) -> list[Outcome]:
        """One tenant's run of batch-type messages: all in one unit of work (less those
        handled before, when some were), or, when that fails, each on its own with retries
        and dead letters; a message repeated within the run comes after, on its own."""
        outcomes: dict[int, Outcome] = {}
        firsts: dict[uuid.UUID, int] = {}
        for index, decoded in enumerate(run):
            firsts.setdefault(decoded.envelope.id, index)
        pending = sorted(firsts.values())
        for _ in range(2):  # a redelivery: once more without the messages handled before
            if len(pending) <= 1 or self._batch_uow_factory is None:
                break
            try:
                await self._handle_whole([run[index] for index in pending])
            except AlreadyDelivered as seen:
                if not seen.message_ids:
                    break
                for index in pending:
                    if run[index].envelope.id in seen.message_ids:
                        outcomes[index] = "duplicate"
                        MESSAGES.labels(self.name, run[index].envelope.type, "duplicate").inc()
                pending = [index for index in pending if index not in outcomes]
                continue
            except Exception as error:
                BATCH_FALLBACKS.labels(self.name).inc()
                log.info("batch not handled whole; one message at a time", error=repr(error))
                break
            outcomes |= dict.fromkeys(pending, "processed")
            break
        # outside any `except`: a message's own failure is not chained to the batch's
        for index, decoded in enumerate(run):
            if index in outcomes:
                continue
            structlog.contextvars.clear_contextvars()
            headers = {k: v.decode(errors="replace") for k, v in (decoded.record.headers or ())}
            with trace_context_from(headers):
                outcomes[index] = await self._handle_with_retries(decoded)
        return [outcomes[index] for index in range(len(run))]

    async def _handle_whole(self, run: list[_Decoded]) -> None:
        first = run[0].envelope
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            consumer=self.name, tenant_id=first.tenant_id, batch_size=len(run)
        )
        assert self._batch_uow_factory is not None
        started = time.perf_counter()
        await self._batch_handlers[first.type](
            self._batch_uow_factory(first.tenant_id, [d.envelope for d in run], self.name),
            [Delivery(decoded.envelope, decoded.data) for decoded in run],
        )
        elapsed = time.perf_counter() - started
        BATCH_SECONDS.labels(self.name).observe(elapsed)
        BATCH_SIZE.labels(self.name).observe(len(run))
        for decoded in run:
            HANDLE_SECONDS.labels(self.name, decoded.envelope.type).observe(elapsed / len(run))
            MESSAGES.labels(self.name, decoded.envelope.type, "processed").inc()

    async def _handle_with_retries(self, decoded: _Decoded) -> Outcome:
        record, envelope, data = decoded.record, decoded.envelope, decoded.data
        self._bind_log_context(envelope)
        handler = self._handlers[envelope.type]
        attempt = 1
        while True:
            started = time.perf_counter()
            try:
                await handler(self._uow_factory(envelope, self.name), envelope, data)
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
