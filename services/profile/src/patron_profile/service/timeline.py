"""Timeline and audit use cases: the projection of other services' events into a
customer's timeline, and the two reads (timeline, audit log)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from patron_profile.domain.timeline import AuditRecord, TimelineEntry, timeline_entry
from patron_profile.service.customers import existing_customer
from patron_profile.service.ports import CustomerUnitOfWork
from patron_shared.db.ports import UnitOfWorkProtocol
from patron_shared.events import Contract, Delivery


class TimelineRepository(Protocol):
    async def add_many(self, entries: Sequence[TimelineEntry]) -> int: ...
    async def page(
        self,
        customer_id: uuid.UUID,
        *,
        kinds: Sequence[str] | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[TimelineEntry]: ...
    async def erase_timeline(self, customer_id: uuid.UUID) -> int: ...


class AuditRepository(Protocol):
    async def add_many(self, records: Sequence[AuditRecord]) -> None: ...
    async def page(
        self, customer_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[AuditRecord]: ...


class TimelineProjectionUnitOfWork(UnitOfWorkProtocol, Protocol):
    @property
    def timeline(self) -> TimelineRepository: ...


class TimelineUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def timeline(self) -> TimelineRepository: ...
    @property
    def audit(self) -> AuditRepository: ...


async def record_timeline_events(
    uow: TimelineProjectionUnitOfWork, deliveries: Sequence[Delivery[Contract]]
) -> None:
    """One entry per delivered event, keyed by its message id: a redelivery adds nothing."""
    entries = [
        entry
        for delivery in deliveries
        if (entry := timeline_entry(delivery.envelope.id, delivery.event)) is not None
    ]
    async with uow:
        await uow.timeline.add_many(entries)
        await uow.commit()


async def timeline_page(
    uow: TimelineUnitOfWork,
    customer_id: uuid.UUID,
    *,
    kinds: Sequence[str] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[TimelineEntry]:
    """The live customer's timeline, newest first, with the entries of customers merged
    into it; a merged customer answers 404 naming its survivor."""
    async with uow:
        await existing_customer(uow, customer_id)
        return await uow.timeline.page(customer_id, kinds=kinds, after=after, limit=limit)


async def audit_page(
    uow: TimelineUnitOfWork,
    customer_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AuditRecord]:
    """The audit log of a customer (live, merged or deleted: the log outlives them),
    newest first."""
    async with uow:
        return await uow.audit.page(customer_id, after=after, limit=limit)
