"""SQL for the read-model fields other services own: VIP, segments, loyalty points and tier."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import customers


class SqlReadModelRepository:
    """Each method updates one customer row that follows the other services' events (a
    live customer or a merge's tombstone: `Customer.follows_other_services`) and says
    whether there was one."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def set_fields(self, customer_id: uuid.UUID, **values: Any) -> bool:
        return await self._update(customer_id, values)

    async def add_segment(self, customer_id: uuid.UUID, segment: str) -> bool:
        segments = customers.c.segments
        # Append only when absent, so a redelivered SegmentEntered never duplicates it.
        kept_or_appended = case(
            (segments.contains([segment]), segments),
            else_=func.array_append(segments, segment),
        )
        return await self._update(customer_id, {"segments": kept_or_appended})

    async def remove_segment(self, customer_id: uuid.UUID, segment: str) -> bool:
        return await self._update(
            customer_id, {"segments": func.array_remove(customers.c.segments, segment)}
        )

    async def _update(self, customer_id: uuid.UUID, values: dict[str, Any]) -> bool:
        result = await self._session.execute(
            update(customers)
            .where(
                customers.c.tenant_id == self._tenant_id,
                customers.c.id == customer_id,
                # `Customer.follows_other_services`, as SQL
                or_(customers.c.deleted_at.is_(None), customers.c.merged_into.is_not(None)),
            )
            .values(**values)
            .returning(customers.c.id)
        )
        return result.first() is not None
