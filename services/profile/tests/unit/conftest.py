"""Fakes for the profile use cases: in-memory repositories and unit of work."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

import pytest

from patron_profile.domain.customer import Customer
from patron_profile.domain.order_stats import OrderRecord, OrderState, OrderStats
from patron_shared.errors import Conflict
from patron_shared.events import Contract
from patron_shared.testing import InMemoryUnitOfWork


@dataclass
class FakeCustomerRepository:
    rows: dict[uuid.UUID, Customer] = field(default_factory=dict)
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


@dataclass
class FakeOrderRepository:
    """Orders by id; the statistics are the domain fold, which the SQL aggregate mirrors."""

    rows: dict[str, OrderState] = field(default_factory=dict)

    async def lock(self, order_id: str, *, customer_id: uuid.UUID) -> OrderState:
        return self.rows.setdefault(order_id, OrderState(order_id, customer_id))

    async def save(self, order: OrderState) -> None:
        self.rows[order.order_id] = order

    async def stats_for(self, customer_id: uuid.UUID) -> OrderStats:
        return OrderStats.from_orders(o for o in self.rows.values() if o.customer_id == customer_id)

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[list[OrderRecord], int]:
        records = [
            record
            for order in self.rows.values()
            if order.customer_id == customer_id and (record := order.record()) is not None
        ]
        records.sort(key=lambda r: (r.placed_at, r.order_id), reverse=True)
        return records[offset : offset + limit], len(records)


class FakeUnitOfWork(InMemoryUnitOfWork):
    repositories = ("customers", "orders")

    def __init__(self, tenant_id: str = "demo", causation_id: str | None = None) -> None:
        super().__init__(tenant_id, source="profile", causation_id=causation_id)
        self.customers = FakeCustomerRepository()
        self.orders = FakeOrderRepository()

    def collect_new_events(self) -> list[Contract]:
        events: list[Contract] = []
        for customer in self.customers.seen.values():
            events.extend(customer.events)
            customer.events.clear()
        return events


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()
