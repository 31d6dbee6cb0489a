"""Customer-fact persistence: all SQL of the segmentation service lives here."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.fact_rows import write_fact_columns
from patron_segmentation.adapters.orders import order_facts_of
from patron_segmentation.adapters.tables import customer_facts
from patron_segmentation.domain.facts import CustomerFacts
from patron_shared.db import is_one_of

# a chain of merges longer than this is a data error, not a customer's history
_MAX_MERGE_CHAIN = 100
_STORED_FIELDS = (
    "tags",
    "accepts_marketing",
    "status",
    "registered_at",
    "date_of_birth",
    "gender",
    "source",
    "group_id",
    "source_updated_at",
    "deleted_at",
)


class SqlFactsRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> CustomerFacts | None:
        query = select(customer_facts).where(
            customer_facts.c.tenant_id == self._tenant_id,
            customer_facts.c.customer_id == customer_id,
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_facts(row)

    async def get_many(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CustomerFacts]:
        """The facts of each customer that has a facts row."""
        if not customer_ids:
            return {}
        rows = await self._session.execute(
            select(customer_facts).where(
                customer_facts.c.tenant_id == self._tenant_id,
                is_one_of(customer_facts.c.customer_id, list(customer_ids)),
            )
        )
        return {row.customer_id: _to_facts(row) for row in rows}

    async def save(self, facts: CustomerFacts) -> None:
        """Insert or update; a write older than the stored row never replaces it."""
        values = {name: getattr(facts, name) for name in _STORED_FIELDS}
        insert = pg_insert(customer_facts).values(
            tenant_id=self._tenant_id, customer_id=facts.customer_id, **values
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "customer_id"],
                set_=values | {"updated_at": func.now()},
                where=customer_facts.c.source_updated_at <= insert.excluded.source_updated_at,
            )
        )

    async def mark_merged(self, customer_id: uuid.UUID, into: uuid.UUID | None) -> None:
        """Set (or, with None, clear) the customer this one is merged into, making its facts
        row if none is there yet."""
        await write_fact_columns(self._session, self._tenant_id, customer_id, {"merged_into": into})

    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None:
        """The end of the customer's chain of merges; None when it is not merged away."""
        chain = select(customer_facts.c.customer_id, customer_facts.c.merged_into).where(
            customer_facts.c.tenant_id == self._tenant_id
        )
        survivor: uuid.UUID | None = None
        current = customer_id
        for _ in range(_MAX_MERGE_CHAIN):
            row = (
                await self._session.execute(chain.where(customer_facts.c.customer_id == current))
            ).first()
            if row is None or row.merged_into is None:
                return survivor
            survivor = current = row.merged_into
        return survivor

    async def survivors_of(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """`survivor_of` for many: each of the customers that is merged away, with the end
        of its chain of merges (one query when none is)."""
        if not customer_ids:
            return {}
        merged = await self._session.execute(
            select(customer_facts.c.customer_id).where(
                customer_facts.c.tenant_id == self._tenant_id,
                is_one_of(customer_facts.c.customer_id, list(customer_ids)),
                customer_facts.c.merged_into.is_not(None),
            )
        )
        survivors: dict[uuid.UUID, uuid.UUID] = {}
        for (customer_id,) in merged.all():
            survivor = await self.survivor_of(customer_id)
            if survivor is not None:
                survivors[customer_id] = survivor
        return survivors

    async def erase(self, customer_id: uuid.UUID) -> None:
        await self._session.execute(
            delete(customer_facts).where(
                customer_facts.c.tenant_id == self._tenant_id,
                customer_facts.c.customer_id == customer_id,
            )
        )


def _to_facts(row: Row[Any]) -> CustomerFacts:
    values = {name: getattr(row, name) for name in _STORED_FIELDS}
    values["tags"] = list(row.tags)
    return CustomerFacts(
        customer_id=row.customer_id,
        merged_into=row.merged_into,
        orders=order_facts_of(row),
        country=row.country,
        state=row.state,
        city=row.city,
        loyalty_tier=row.loyalty_tier,
        messages_sent=row.messages_sent,
        messages_opened=row.messages_opened,
        **values,
    )
