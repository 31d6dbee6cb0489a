"""Facts from other services' events (addresses, loyalty tier, messages), in PostgreSQL.

Each write makes the customer's facts row if there is none yet (events about a customer can
come before its creation does), and touches only its own columns.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.fact_rows import write_fact_columns
from patron_segmentation.adapters.tables import customer_facts, message_opens
from patron_segmentation.domain.facts import location_of

_F = customer_facts.c


class SqlSideFactsRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def apply_address(
        self, customer_id: uuid.UUID, address_id: uuid.UUID, address: dict[str, Any] | None
    ) -> None:
        """Keep (or, with None, forget) one of the customer's addresses; the location follows
        the default one."""
        await self._ensure(customer_id)
        addresses: dict[str, dict[str, Any]] = dict(
            (
                await self._session.execute(
                    select(_F.addresses).where(self._row(customer_id)).with_for_update()
                )
            ).scalar_one()
        )
        if address is None:
            addresses.pop(str(address_id), None)
        else:
            addresses[str(address_id)] = address
        country, state, city = location_of(addresses)
        await self._session.execute(
            update(customer_facts)
            .where(self._row(customer_id))
            .values(addresses=addresses, country=country, state=state, city=city)
        )

    async def set_loyalty_tier(self, customer_id: uuid.UUID, tier: str, at: datetime) -> None:
        """The tier as of `at`, unless a later change is already known."""
        await self._ensure(customer_id)
        await self._session.execute(
            update(customer_facts)
            .where(
                self._row(customer_id),
                or_(_F.loyalty_tier_at.is_(None), _F.loyalty_tier_at <= at),
            )
            .values(loyalty_tier=tier, loyalty_tier_at=at)
        )

    async def count_message_sent(self, customer_id: uuid.UUID) -> None:
        await self._ensure(customer_id)
        await self._session.execute(
            update(customer_facts)
            .where(self._row(customer_id))
            .values(messages_sent=_F.messages_sent + 1)
        )

    async def count_message_opened(
        self, customer_id: uuid.UUID, notification_id: uuid.UUID
    ) -> None:
        """Once per notification, however many reports say it was opened."""
        first = await self._session.execute(
            pg_insert(message_opens)
            .values(
                tenant_id=self._tenant_id, notification_id=notification_id, customer_id=customer_id
            )
            .on_conflict_do_nothing()
            .returning(message_opens.c.notification_id)
        )
        if first.first() is None:
            return
        await self._ensure(customer_id)
        await self._session.execute(
            update(customer_facts)
            .where(self._row(customer_id))
            .values(messages_opened=_F.messages_opened + 1)
        )

    async def _ensure(self, customer_id: uuid.UUID) -> None:
        await write_fact_columns(self._session, self._tenant_id, customer_id, {})

    def _row(self, customer_id: uuid.UUID) -> Any:
        return (_F.tenant_id == self._tenant_id) & (_F.customer_id == customer_id)
