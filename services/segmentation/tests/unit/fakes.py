"""In-memory stand-ins for the segmentation repositories and unit of work."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime

from patron_segmentation.adapters.fact_rows import NO_SNAPSHOT_YET
from patron_segmentation.domain.builtin_segments import BuiltinThresholds
from patron_segmentation.domain.facts import CustomerFacts
from patron_segmentation.domain.orders import OrderFacts
from patron_segmentation.domain.segments import Segment
from patron_shared.orders import OrderState
from patron_shared.testing import InMemoryUnitOfWork


@dataclass
class FakeFactsRepository:
    rows: dict[uuid.UUID, CustomerFacts] = field(default_factory=dict)
    writes: int = 0

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> CustomerFacts | None:
        return copy.deepcopy(self.rows.get(customer_id))

    async def save(self, facts: CustomerFacts) -> None:
        self.rows[facts.customer_id] = copy.deepcopy(facts)
        self.writes += 1

    async def mark_merged(self, customer_id: uuid.UUID, into: uuid.UUID | None) -> None:
        known = self.rows.get(customer_id) or CustomerFacts(customer_id, NO_SNAPSHOT_YET)
        self.rows[customer_id] = replace(known, merged_into=into)

    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None:
        survivor = None
        while (facts := self.rows.get(customer_id)) is not None and facts.merged_into:
            survivor = customer_id = facts.merged_into
        return survivor

    async def erase(self, customer_id: uuid.UUID) -> None:
        self.rows.pop(customer_id, None)


@dataclass
class FakeOrderRepository:
    customer_facts: FakeFactsRepository
    rows: dict[str, OrderState] = field(default_factory=dict)
    facts: dict[uuid.UUID, OrderFacts] = field(default_factory=dict)
    merged_from: dict[str, uuid.UUID] = field(default_factory=dict)

    async def lock(self, order_id: str, *, customer_id: uuid.UUID) -> OrderState:
        return self.rows.setdefault(order_id, OrderState(order_id, customer_id))

    async def save(self, order: OrderState) -> None:
        self.rows[order.order_id] = order

    async def of_customer(self, customer_id: uuid.UUID) -> list[OrderState]:
        return [order for order in self.rows.values() if order.customer_id == customer_id]

    async def move(self, from_id: uuid.UUID, to_id: uuid.UUID) -> None:
        for order_id, order in list(self.rows.items()):
            if order.customer_id == from_id:
                self.merged_from.setdefault(order_id, from_id)
                self.rows[order_id] = replace(order, customer_id=to_id)

    async def move_back(self, restored_id: uuid.UUID) -> None:
        for order_id, first_owner in list(self.merged_from.items()):
            if first_owner == restored_id:
                del self.merged_from[order_id]
                self.rows[order_id] = replace(self.rows[order_id], customer_id=restored_id)

    async def erase(self, customer_id: uuid.UUID) -> None:
        self.rows = {k: o for k, o in self.rows.items() if o.customer_id != customer_id}

    async def save_facts(self, customer_id: uuid.UUID, facts: OrderFacts) -> None:
        self.facts[customer_id] = facts
        # as the real row: order facts beside the customer's own, made if missing
        known = self.customer_facts.rows.get(customer_id) or CustomerFacts(
            customer_id, NO_SNAPSHOT_YET
        )
        self.customer_facts.rows[customer_id] = replace(known, orders=facts)


@dataclass
class FakeSegmentRepository:
    rows: dict[uuid.UUID, Segment] = field(default_factory=dict)

    async def all(self) -> list[Segment]:
        return sorted(self.rows.values(), key=lambda s: (s.created_at, s.id))


@dataclass
class FakeMembershipRepository:
    rows: dict[tuple[str, uuid.UUID], datetime] = field(default_factory=dict)

    async def of_customer(self, customer_id: uuid.UUID) -> set[str]:
        return {key for key, customer in self.rows if customer == customer_id}

    async def enter(self, customer_id: uuid.UUID, keys: Collection[str], at: datetime) -> None:
        for key in keys:
            self.rows.setdefault((key, customer_id), at)

    async def leave(self, customer_id: uuid.UUID, keys: Collection[str]) -> None:
        for key in keys:
            self.rows.pop((key, customer_id), None)

    def members(self, key: str) -> set[uuid.UUID]:
        return {customer for k, customer in self.rows if k == key}


class FakeSegmentationUnitOfWork(InMemoryUnitOfWork):
    repositories = ("facts", "orders", "segments", "memberships")

    def __init__(
        self, causation_id: str | None = None, thresholds: BuiltinThresholds | None = None
    ) -> None:
        super().__init__(source="segmentation", causation_id=causation_id)
        self.builtin_thresholds = thresholds or BuiltinThresholds()
        self.facts = FakeFactsRepository()
        self.orders = FakeOrderRepository(self.facts)
        self.segments = FakeSegmentRepository()
        self.memberships = FakeMembershipRepository()
