"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from patron_segmentation.domain.facts import CustomerFacts
from patron_segmentation.domain.orders import OrderFacts
from patron_segmentation.domain.rules import Rule
from patron_segmentation.domain.segments import Member, Segment, SegmentCursor
from patron_shared.db.ports import UnitOfWorkProtocol
from patron_shared.orders import OrderState


class FactsRepository(Protocol):
    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> CustomerFacts | None: ...
    async def save(self, facts: CustomerFacts) -> None: ...


class FactsUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def facts(self) -> FactsRepository: ...


class OrderRepository(Protocol):
    async def lock(self, order_id: str, *, customer_id: uuid.UUID) -> OrderState: ...
    async def save(self, order: OrderState) -> None: ...
    async def of_customer(self, customer_id: uuid.UUID) -> list[OrderState]: ...
    async def save_facts(self, customer_id: uuid.UUID, facts: OrderFacts) -> None: ...


class OrdersUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str
    causation_id: str | None

    @property
    def orders(self) -> OrderRepository: ...


class SegmentRepository(Protocol):
    async def add(self, segment: Segment) -> None: ...
    async def save(self, segment: Segment) -> None: ...
    async def remove(self, segment_id: uuid.UUID) -> bool: ...
    async def get(self, segment_id: uuid.UUID) -> Segment | None: ...
    async def page(self, *, after: SegmentCursor | None, limit: int) -> list[Segment]: ...


class MemberQueries(Protocol):
    def uncollected(self, rule: Rule) -> frozenset[str]: ...
    async def count(self, rule: Rule, now: datetime) -> int: ...
    async def count_each(self, rules: Sequence[Rule], now: datetime) -> tuple[int, list[int]]: ...
    async def page(
        self, rule: Rule, now: datetime, *, after: uuid.UUID | None, limit: int
    ) -> list[Member]: ...


class SegmentsUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def segments(self) -> SegmentRepository: ...
    @property
    def members(self) -> MemberQueries: ...
