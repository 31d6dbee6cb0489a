"""Fakes for the profile use cases: an in-memory repository and unit of work."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import pytest

from patron_profile.domain.customer import Customer
from patron_profile.service.ports import PendingOrder
from patron_shared.errors import Conflict
from patron_shared.events import Contract, Envelope, OrderPlaced, build_envelope


@dataclass
class StoredOrder:
    order: OrderPlaced
    counted: bool = False


@dataclass
class FakeCustomerRepository:
    rows: dict[uuid.UUID, Customer] = field(default_factory=dict)
    orders: dict[str, StoredOrder] = field(default_factory=dict)
    seen: dict[uuid.UUID, Customer] = field(default_factory=dict)

    async def add(self, customer: Customer) -> None:
        if customer.email and any(
            c.email == customer.email and c.deleted_at is None for c in self.rows.values()
        ):
            raise Conflict("duplicate email", field="email")
        self.rows[customer.id] = copy.deepcopy(customer)
        self.seen[customer.id] = customer

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
        stored = self.rows.get(customer_id)
        if stored is None or stored.deleted_at is not None:
            return None
        customer = copy.deepcopy(stored)
        self.seen[customer.id] = customer
        return customer

    async def save(self, customer: Customer) -> None:
        self.rows[customer.id] = copy.deepcopy(customer)
        self.seen[customer.id] = customer

    async def list_page(
        self, *, offset: int, limit: int, email: str | None = None
    ) -> tuple[list[Customer], int]:
        live = [c for c in self.rows.values() if c.deleted_at is None]
        if email is not None:
            live = [c for c in live if c.email == email]
        return live[offset : offset + limit], len(live)

    async def record_order(
        self, order: OrderPlaced, *, event_id: uuid.UUID, counted: bool = False
    ) -> bool:
        if order.order_id in self.orders:
            return False
        self.orders[order.order_id] = StoredOrder(order, counted=counted)
        return True

    async def uncounted_orders(self, customer_id: uuid.UUID) -> Sequence[PendingOrder]:
        return [
            PendingOrder(s.order.order_id, s.order.total, s.order.currency, s.order.placed_at)
            for s in self.orders.values()
            if s.order.customer_id == customer_id and not s.counted
        ]

    async def mark_orders_counted(self, order_ids: Sequence[str]) -> None:
        for order_id in order_ids:
            self.orders[order_id].counted = True


class FakeUnitOfWork:
    """Commits keep what the use case wrote; leaving without commit forgets it."""

    def __init__(self, tenant_id: str = "demo", causation_id: str | None = None) -> None:
        self.tenant_id = tenant_id
        self.causation_id = causation_id
        self.customers = FakeCustomerRepository()
        self.published: list[Contract] = []
        self.commits = 0
        self._pending: list[Contract] = []
        self._snapshot: FakeCustomerRepository | None = None

    async def __aenter__(self) -> Self:
        self._snapshot = copy.deepcopy(self.customers)
        self._pending = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._snapshot is not None:  # not committed: roll back
            self.customers = self._snapshot
            self._snapshot = None

    def emit(self, *events: Contract) -> None:
        self._pending.extend(events)

    async def commit(self) -> list[Envelope]:
        events = list(self._pending)
        for customer in self.customers.seen.values():
            events.extend(customer.events)
            customer.events.clear()
        self.published.extend(events)
        self.commits += 1
        self._snapshot = None
        return [build_envelope(e, tenant_id=self.tenant_id, source="profile") for e in events]


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()
