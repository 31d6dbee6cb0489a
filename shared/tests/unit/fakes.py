"""In-memory stand-ins for Kafka records, the inbox, units of work and brokers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from patron_shared.db.uow import AlreadyDelivered
from patron_shared.events import Envelope, OrderItem, OrderPlaced, build_envelope

ORDER_TOPIC = "patron.order.events.v1"


@dataclass
class FakeRecord:
    """What the consumer reads from an aiokafka `ConsumerRecord`."""

    value: bytes | None
    topic: str = ORDER_TOPIC
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def an_order_placed(**overrides: Any) -> OrderPlaced:
    fields: dict[str, Any] = {
        "order_id": f"o-{uuid.uuid4().hex[:8]}",
        "customer_id": uuid.uuid4(),
        "currency": "USD",
        "total": Decimal("125.00"),
        "items": [
            OrderItem(
                sku="TS-BLUE-M",
                name="Blue T-Shirt",
                category="Clothing",
                quantity=5,
                unit_price=Decimal("25.00"),
            )
        ],
        "placed_at": datetime(2026, 11, 20, 10, 14, 58, tzinfo=UTC),
    }
    return OrderPlaced(**(fields | overrides))


def envelope_of(event: OrderPlaced, *, tenant_id: str = "demo") -> Envelope:
    return build_envelope(event, tenant_id=tenant_id, source="orders-service")


def record_of(envelope: Envelope, **overrides: Any) -> FakeRecord:
    fields: dict[str, Any] = {
        "value": envelope.to_json_bytes(),
        "key": (envelope.subject or "").encode(),
    }
    return FakeRecord(**(fields | overrides))


@dataclass
class FakeInbox:
    """The inbox table: a claim becomes durable only when its transaction commits."""

    claimed: set[tuple[str, uuid.UUID]] = field(default_factory=set)


class FakeUnitOfWork:
    """Behaves like `UnitOfWork.for_delivery` (or `for_deliveries`): entering claims the
    messages in the inbox, and fails when any of them was claimed before."""

    def __init__(self, inbox: FakeInbox, envelopes: list[Envelope], consumer: str) -> None:
        self.inbox = inbox
        self.envelopes = envelopes
        self.envelope = envelopes[0]
        self.consumer = consumer
        self.tenant_id = self.envelope.tenant_id
        self.committed = False
        self.rolled_back = False

    async def __aenter__(self) -> Self:
        seen = [e.id for e in self.envelopes if (self.consumer, e.id) in self.inbox.claimed]
        if seen:
            raise AlreadyDelivered(seen)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            self.rolled_back = True

    async def commit(self) -> list[Envelope]:
        self.inbox.claimed.update((self.consumer, e.id) for e in self.envelopes)
        self.committed = True
        return []


@dataclass
class FakeUnitOfWorkFactory:
    """The consumer's `uow_factory`; remembers every unit of work it handed out."""

    inbox: FakeInbox = field(default_factory=FakeInbox)
    made: list[FakeUnitOfWork] = field(default_factory=list)

    def __call__(self, envelope: Envelope, consumer: str) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.inbox, [envelope], consumer)
        self.made.append(uow)
        return uow

    def batch(self, tenant_id: str, envelopes: Sequence[Envelope], consumer: str) -> FakeUnitOfWork:
        """The consumer's `batch_uow_factory`."""
        assert all(e.tenant_id == tenant_id for e in envelopes)
        uow = FakeUnitOfWork(self.inbox, list(envelopes), consumer)
        self.made.append(uow)
        return uow


@dataclass
class DeadLetterCall:
    record: Any
    error: BaseException
    consumer: str
    attempts: int
    reason: str


@dataclass
class RecordingDeadLetters:
    """A `DeadLetterPublisher` that records what it was asked to send (or fails)."""

    calls: list[DeadLetterCall] = field(default_factory=list)
    fail_with: Exception | None = None

    async def send(
        self, record: Any, *, error: BaseException, consumer: str, attempts: int, reason: str
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append(DeadLetterCall(record, error, consumer, attempts, reason))


@dataclass
class Published:
    message: Any
    topic: str
    key: bytes | None
    headers: dict[str, str]


@dataclass
class RecordingBroker:
    """A broker whose `publish` records each call (or fails)."""

    published: list[Published] = field(default_factory=list)
    fail_with: Exception | None = None

    async def publish(
        self,
        message: Any,
        *,
        topic: str,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
        **_: Any,
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.published.append(Published(message, topic, key, dict(headers or {})))


class UseCase:
    """A handler shaped like a real use case: `async with uow: ...; await uow.commit()`.

    It raises `errors[n]` on call n (0-based) while there are errors left, else commits.
    """

    def __init__(self, *errors: BaseException) -> None:
        self._errors = list(errors)
        self.calls: list[Any] = []
        self.effects: list[Any] = []

    async def __call__(self, uow: FakeUnitOfWork, event: Any) -> None:
        self.calls.append(event)
        async with uow:
            index = len(self.calls) - 1
            if index < len(self._errors):
                raise self._errors[index]
            self.effects.append(event)
            await uow.commit()


class AlwaysFails:
    """A handler whose every call fails with a fresh error naming the attempt."""

    def __init__(self, error_type: type[Exception] = RuntimeError) -> None:
        self.error_type = error_type
        self.calls = 0
        self.last_error: Exception | None = None

    async def __call__(self, uow: FakeUnitOfWork, event: Any) -> None:
        self.calls += 1
        async with uow:
            self.last_error = self.error_type(f"boom on call {self.calls}")
            raise self.last_error
