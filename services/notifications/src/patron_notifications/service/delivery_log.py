"""The delivery log: what was sent (or not) to a customer, newest first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from patron_notifications.domain.delivery import Delivery
from patron_shared.db.ports import UnitOfWorkProtocol


class DeliveryLog(Protocol):
    async def log(
        self, customer_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> tuple[list[Delivery], bool]: ...


class DeliveryLogUnitOfWork(UnitOfWorkProtocol, Protocol):
    @property
    def deliveries(self) -> DeliveryLog: ...


async def delivery_log(
    uow: DeliveryLogUnitOfWork,
    customer_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[Delivery], bool]:
    async with uow:
        return await uow.deliveries.log(customer_id, after=after, limit=limit)
