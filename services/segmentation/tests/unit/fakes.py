"""In-memory stand-ins for the segmentation repositories and unit of work."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from patron_segmentation.domain.facts import CustomerFacts
from patron_segmentation.domain.orders import OrderFacts
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


@dataclass
class FakeOrderRepository:
    rows: dict[str, OrderState] = field(default_factory=dict)
    facts: dict[uuid.UUID, OrderFacts] = field(default_factory=dict)

    async def lock(self, order_id: str, *, customer_id: uuid.UUID) -> OrderState:
        return self.rows.setdefault(order_id, OrderState(order_id, customer_id))

    async def save(self, order: OrderState) -> None:
        self.rows[order.order_id] = order

    async def of_customer(self, customer_id: uuid.UUID) -> list[OrderState]:
        return [order for order in self.rows.values() if order.customer_id == customer_id]

    async def save_facts(self, customer_id: uuid.UUID, facts: OrderFacts) -> None:
        self.facts[customer_id] = facts


class FakeSegmentationUnitOfWork(InMemoryUnitOfWork):
    repositories = ("facts", "orders")

    def __init__(self, causation_id: str | None = None) -> None:
        super().__init__(source="segmentation", causation_id=causation_id)
        self.facts = FakeFactsRepository()
        self.orders = FakeOrderRepository()
