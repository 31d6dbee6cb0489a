"""In-memory stand-ins for the segmentation repositories and unit of work."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from patron_segmentation.adapters.fact_rows import NO_SNAPSHOT_YET
from patron_segmentation.domain.builtin_segments import BuiltinThresholds
from patron_segmentation.domain.facts import CustomerFacts
from patron_segmentation.domain.orders import OrderFacts
from patron_segmentation.domain.segments import Segment
from patron_segmentation.service.orders import record_order_events
from patron_shared.events import Delivery, build_envelope
from patron_shared.orders import OrderEvent, OrderState
from patron_shared.testing import InMemoryUnitOfWork


@dataclass
class FakeFactsRepository:
    rows: dict[uuid.UUID, CustomerFacts] = field(default_factory=dict)
    writes: int = 0

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> CustomerFacts | None:
        return copy.deepcopy(self.rows.get(customer_id))

    async def get_many(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CustomerFacts]:
        return {c: copy.deepcopy(self.rows[c]) for c in customer_ids if c in self.rows}

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

    async def survivors_of(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        survivors = {c: await self.survivor_of(c) for c in customer_ids}
        return {c: survivor for c, survivor in survivors.items() if survivor is not None}

    async def erase(self, customer_id: uuid.UUID) -> None:
        self.rows.pop(customer_id, None)


@dataclass
class FakeOrderRepository:
    customer_facts: FakeFactsRepository
    rows: dict[str, OrderState] = field(default_factory=dict)
    facts: dict[uuid.UUID, OrderFacts] = field(default_factory=dict)
    merged_from: dict[str, uuid.UUID] = field(default_factory=dict)

    async def lock(self, owners: Mapping[str, uuid.UUID]) -> dict[str, OrderState]:
        return {
            order_id: self.rows.setdefault(order_id, OrderState(order_id, customer_id))
            for order_id, customer_id in owners.items()
        }

    async def save(self, changed: Sequence[OrderState]) -> None:
        for order in changed:
            self.rows[order.order_id] = order

    async def of_customers(
        self, customer_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[OrderState]]:
        return {
            customer_id: [o for o in self.rows.values() if o.customer_id == customer_id]
            for customer_id in customer_ids
        }

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

    async def save_facts(self, facts: Mapping[uuid.UUID, OrderFacts]) -> None:
        for customer_id, one in facts.items():
            self.facts[customer_id] = one
            # as the real row: order facts beside the customer's own, made if missing
            known = self.customer_facts.rows.get(customer_id) or CustomerFacts(
                customer_id, NO_SNAPSHOT_YET
            )
            self.customer_facts.rows[customer_id] = replace(known, orders=one)


@dataclass
class FakeSegmentRepository:
    rows: dict[uuid.UUID, Segment] = field(default_factory=dict)

    async def all(self) -> list[Segment]:
        return sorted(self.rows.values(), key=lambda s: (s.created_at, s.id))


@dataclass
class FakeMembershipRepository:
    rows: dict[tuple[str, uuid.UUID], datetime] = field(default_factory=dict)

    async def of_customers(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
        return {
            customer_id: {key for key, customer in self.rows if customer == customer_id}
            for customer_id in customer_ids
        }

    async def enter(self, memberships: Collection[tuple[uuid.UUID, str]], at: datetime) -> None:
        for customer_id, key in memberships:
            self.rows.setdefault((key, customer_id), at)

    async def leave(self, memberships: Collection[tuple[uuid.UUID, str]]) -> None:
        for customer_id, key in memberships:
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


def delivered(event: OrderEvent, message_id: uuid.UUID | None = None) -> Delivery[OrderEvent]:
    """`event` as a consumer hands it to a use case: in its envelope (id `message_id`)."""
    envelope = build_envelope(event, tenant_id="demo", source="tests", message_id=message_id)
    return Delivery(envelope, event)


def record_order_event(
    uow: FakeSegmentationUnitOfWork, event: OrderEvent, message_id: uuid.UUID | None = None
) -> Coroutine[Any, Any, None]:
    """One order event delivered alone (a batch of one)."""
    return record_order_events(uow, [delivered(event, message_id)])
