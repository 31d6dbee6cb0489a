"""Fakes for the profile use cases: an in-memory repository and unit of work."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from patron_profile.domain.customer import Customer
from patron_profile.service.ports import PendingOrder
from patron_shared.errors import Conflict
from patron_shared.events import Contract, OrderPlaced
from patron_shared.testing import InMemoryUnitOfWork


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


class FakeUnitOfWork(InMemoryUnitOfWork):
    repositories = ("customers",)

    def __init__(self, tenant_id: str = "demo", causation_id: str | None = None) -> None:
        super().__init__(tenant_id, source="profile", causation_id=causation_id)
        self.customers = FakeCustomerRepository()

    def collect_new_events(self) -> list[Contract]:
        events: list[Contract] = []
        for customer in self.customers.seen.values():
            events.extend(customer.events)
            customer.events.clear()
        return events


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()
