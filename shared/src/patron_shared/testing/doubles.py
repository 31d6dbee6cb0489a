"""Test doubles every service's tests use: a Kafka record and an in-memory unit of work."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from sqlalchemy import func, select

from patron_shared.db.erasure import Names, ScrubResult
from patron_shared.events import Contract, Envelope, build_envelope

ResultT = TypeVar("ResultT")


@dataclass
class FakeRecord:
    """What `EventConsumer.handle_record` reads from an aiokafka `ConsumerRecord`."""

    value: bytes | None
    topic: str
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def record_of(envelope: Envelope, *, topic: str, **overrides: Any) -> FakeRecord:
    """The record a consumer of `topic` would receive for `envelope`, keyed by its subject."""
    values: dict[str, Any] = {
        "value": envelope.to_json_bytes(),
        "topic": str(topic),
        "key": (envelope.subject or "").encode() or None,
    }
    return FakeRecord(**(values | overrides))


class InMemoryUnitOfWork:
    """Stand-in for `patron_shared.db.UnitOfWork` in use-case tests.

    Subclasses hold their fake repositories as attributes named in `repositories`. Leaving
    the `async with` block without `commit()` restores them as they were on entry, so a test
    sees exactly what a real transaction would have kept. `published` collects what commits
    would have written to the outbox.
    """

    repositories: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, tenant_id: str = "demo", *, source: str = "tests", causation_id: str | None = None
    ) -> None:
        self.tenant_id = tenant_id
        self.source = source
        self.causation_id = causation_id
        self.published: list[Contract] = []
        # the causation id of each event in `published` (None: the unit of work's own)
        self.published_causes: list[str | None] = []
        self.commits = 0
        # customers whose outbox messages an erasure scrubbed
        self.scrubbed: list[uuid.UUID] = []
        self._pending: list[tuple[Contract, str | None]] = []
        self._pending_in_bulk: list[Contract] = []
        self._saved: dict[str, Any] | None = None

    async def __aenter__(self) -> Self:
        self._saved = {name: copy.deepcopy(getattr(self, name)) for name in self.repositories}
        self._pending = []
        self._pending_in_bulk = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._saved is not None:  # not committed: roll back
            for name, saved in self._saved.items():
                setattr(self, name, saved)
            self._saved = None

    def emit(self, *events: Contract, caused_by: Envelope | None = None) -> None:
        cause = None if caused_by is None else str(caused_by.id)
        self._pending.extend((event, cause) for event in events)

    def emit_in_bulk(self, contract: type[Contract], events: Iterable[Mapping[str, Any]]) -> None:
        """As `UnitOfWork.emit_in_bulk`: written after the events from `emit()`; each item is
        validated here (the real one trusts all but the first)."""
        self._pending_in_bulk.extend(contract.model_validate(dict(item)) for item in events)

    async def scrub_customer_messages(
        self, customer_id: uuid.UUID, values: Iterable[str] = (), *, names: Iterable[Names] = ()
    ) -> ScrubResult:
        """As `UnitOfWork.scrub_customer_messages`: records whose messages were scrubbed."""
        self.scrubbed.append(customer_id)
        return ScrubResult(deleted=0, redacted=0)

    def collect_new_events(self) -> list[Contract]:
        """Hook, as on `UnitOfWork`: events recorded by aggregates the repositories saw."""
        return []

    async def commit(self) -> list[Envelope]:
        pending = [
            *self._pending,
            *((event, None) for event in [*self.collect_new_events(), *self._pending_in_bulk]),
        ]
        self._pending = []
        self._pending_in_bulk = []
        self.published.extend(event for event, _ in pending)
        self.published_causes.extend(cause for _, cause in pending)
        self.commits += 1
        self._saved = None
        return [
            build_envelope(
                event,
                tenant_id=self.tenant_id,
                source=self.source,
                causation_id=cause or self.causation_id,
            )
            for event, cause in pending
        ]


def run_without_io(coroutine: Coroutine[Any, Any, ResultT]) -> ResultT:
    """Run a coroutine that never waits (a use case on in-memory fakes) to its end.

    No event loop is involved, so property-based tests can call async use cases from a
    plain function; a coroutine that does wait on something is a test error.
    """
    try:
        coroutine.send(None)
    except StopIteration as finished:
        result: ResultT = finished.value
        return result
    coroutine.close()
    raise RuntimeError("the coroutine waited on I/O; run it on an event loop instead")


async def deliver_record(
    runtime: Any, envelope: Envelope, *, topic: str | None = None, consumer: int | None = None
) -> str:
    """Hand `envelope` to one of the service's consumers as if Kafka had delivered it: by
    default the first that handles its type, on that consumer's first topic."""
    if consumer is None:
        consumer = next(
            (n for n, c in enumerate(runtime.consumers) if envelope.type in c.handled_types), 0
        )
    event_consumer = runtime.consumers[consumer]
    record = record_of(envelope, topic=topic or event_consumer.topics[0])
    outcome: str = await event_consumer.handle_record(record)
    return outcome


async def inbox_claims(runtime: Any, message_id: uuid.UUID) -> int:
    """How many times the service's inbox has recorded `message_id` (1 once handled, however
    often it was delivered)."""
    inbox = runtime.messaging.inbox
    async with runtime.engine.connect() as connection:
        claims: int = await connection.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.message_id == message_id)
        )
    return claims
