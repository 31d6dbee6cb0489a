"""Fakes for the profile use cases: in-memory repositories and unit of work."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from patron_profile.domain.customer import Customer
from patron_profile.domain.group import Assignment, CustomerGroup, GroupLock
from patron_shared.errors import Conflict
from patron_shared.events import Contract
from patron_shared.orders import OrderRecord, OrderState, OrderStats
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

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False, include_removed: bool = False
    ) -> Customer | None:
        stored = self.rows.get(customer_id)
        if stored is None or (stored.deleted_at is not None and not include_removed):
            return None
        customer = copy.deepcopy(stored)
        self.seen[customer.id] = customer
        return customer

    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None:
        survivor, stored = None, self.rows.get(customer_id)
        while stored is not None and stored.merged_into is not None:
            survivor = stored.merged_into
            stored = self.rows.get(survivor)
        return survivor

    async def email_owner(self, email: str) -> uuid.UUID | None:
        return next(
            (c.id for c in self.rows.values() if c.email == email and c.deleted_at is None), None
        )

    async def save(self, customer: Customer) -> None:
        if (
            customer.email
            and customer.deleted_at is None
            and any(
                c.email == customer.email and c.deleted_at is None and c.id != customer.id
                for c in self.rows.values()
            )
        ):
            raise Conflict("duplicate email", field="email")
        self.rows[customer.id] = copy.deepcopy(customer)
        self.seen[customer.id] = customer

    async def customer(self, customer_id: uuid.UUID) -> Customer | None:
        """The point-read lookup (`CustomerLookup`) over the same rows."""
        return await self.get(customer_id)


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


@dataclass
class FakeGroupRepository:
    customers: Callable[[], FakeCustomerRepository]
    rows: dict[uuid.UUID, CustomerGroup] = field(default_factory=dict)
    assignments: dict[uuid.UUID, Assignment] = field(default_factory=dict)

    async def ensure_defaults(self, groups: Sequence[CustomerGroup]) -> None:
        for g in groups:
            if not any(r.key == g.key for r in self.rows.values()):
                self.rows[g.id] = copy.deepcopy(g)

    async def list_page(
        self, *, offset: int, limit: int
    ) -> tuple[list[tuple[CustomerGroup, int]], int]:
        ordered = sorted(self.rows.values(), key=lambda g: (g.created_at, g.name.lower(), g.id))
        page = [(copy.deepcopy(g), await self.member_count(g.id)) for g in ordered]
        return page[offset : offset + limit], len(ordered)

    async def get(
        self, group_id: uuid.UUID, *, lock: GroupLock | None = None
    ) -> CustomerGroup | None:
        found = self.rows.get(group_id)
        return copy.deepcopy(found) if found else None

    async def member_count(self, group_id: uuid.UUID) -> int:
        return sum(1 for c in self._live() if c.group_id == group_id)

    async def add(self, group: CustomerGroup) -> None:
        if any(g.name.lower() == group.name.lower() for g in self.rows.values()):
            raise Conflict("duplicate name", field="name")
        self.rows[group.id] = copy.deepcopy(group)

    async def save(self, group: CustomerGroup) -> None:
        self.rows[group.id] = copy.deepcopy(group)

    async def delete(self, group_id: uuid.UUID) -> None:
        del self.rows[group_id]
        self.assignments = {k: a for k, a in self.assignments.items() if a.group_id != group_id}

    async def auto_groups(self, *, lock: bool) -> list[CustomerGroup]:
        return [copy.deepcopy(g) for g in self.rows.values() if g.auto_assign]

    async def assignment_of(self, customer_id: uuid.UUID) -> Assignment | None:
        return self.assignments.get(customer_id)

    async def record_assignments(self, changes: dict[uuid.UUID, Assignment | None]) -> None:
        for customer_id, assignment in changes.items():
            if assignment is None:
                self.assignments.pop(customer_id, None)
            else:
                self.assignments[customer_id] = assignment

    async def lock_customers(self, ids: Sequence[uuid.UUID]) -> list[Customer]:
        return [copy.deepcopy(c) for c in self._live() if c.id in set(ids)]

    async def lock_members(self, group_id: uuid.UUID) -> list[Customer]:
        return [copy.deepcopy(c) for c in self._live() if c.group_id == group_id]

    async def lock_rule_candidates(
        self, *, after: Customer | None, limit: int, unassigned: bool
    ) -> list[tuple[Customer, Assignment | None]]:
        found = []
        for c in self._live():
            a = self.assignments.get(c.id)
            by_rule = a is not None and a.assigned_by == "rule" and a.group_id == c.group_id
            if (by_rule or (unassigned and c.group_id is None)) and (
                after is None or _key(c) > _key(after)
            ):
                found.append((copy.deepcopy(c), a))
        return found[:limit]

    def _live(self) -> list[Customer]:
        rows = self.customers().rows.values()
        return sorted((c for c in rows if c.deleted_at is None), key=_key)


def _key(customer: Customer) -> tuple[datetime, uuid.UUID]:
    return customer.created_at, customer.id


class FakeUnitOfWork(InMemoryUnitOfWork):
    repositories = ("customers", "orders", "groups")

    def __init__(self, tenant_id: str = "demo", causation_id: str | None = None) -> None:
        super().__init__(tenant_id, source="profile", causation_id=causation_id)
        self.customers = FakeCustomerRepository()
        self.orders = FakeOrderRepository()
        self.groups = FakeGroupRepository(lambda: self.customers)
        self.lookup = self.customers

    def collect_new_events(self) -> list[Contract]:
        events: list[Contract] = []
        for customer in self.customers.seen.values():
            events.extend(customer.events)
            customer.events.clear()
        return events


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()
