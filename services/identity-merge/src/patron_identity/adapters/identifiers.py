"""The identity graph's identifiers: SQL for finding and claiming them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_identity.adapters.tables import identifiers
from patron_identity.domain.identifiers import OwnedIdentifier
from patron_identity.domain.lineage import TransferredIdentifier
from patron_identity.domain.resolution import Identifier


class SqlIdentifierRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def owners(self, wanted: Iterable[Identifier]) -> dict[Identifier, uuid.UUID]:
        keys = [(i.kind, i.value) for i in wanted]
        if not keys:
            return {}
        i = identifiers.c
        rows = await self._session.execute(
            select(i.kind, i.value, i.customer_id).where(
                i.tenant_id == self._tenant_id, tuple_(i.kind, i.value).in_(keys)
            )
        )
        return {Identifier(row.kind, row.value): row.customer_id for row in rows}

    async def claim(
        self, identifier: Identifier, customer_id: uuid.UUID, *, source: str
    ) -> uuid.UUID:
        """Give `identifier` to `customer_id` unless it has an owner; the owner either way.

        A concurrent claim of the same identifier waits on the key until this transaction
        ends, then finds the owner this one set.
        """
        insert = pg_insert(identifiers).values(
            tenant_id=self._tenant_id,
            kind=identifier.kind,
            value=identifier.value,
            customer_id=customer_id,
            source=source,
        )
        owner: uuid.UUID = (
            await self._session.execute(
                insert.on_conflict_do_update(
                    index_elements=["tenant_id", "kind", "value"],
                    set_={"last_seen_at": func.now()},
                ).returning(identifiers.c.customer_id)
            )
        ).scalar_one()
        return owner

    async def of_customer(self, customer_id: uuid.UUID) -> list[Identifier]:
        i = identifiers.c
        rows = await self._session.execute(
            select(i.kind, i.value)
            .where(i.tenant_id == self._tenant_id, i.customer_id == customer_id)
            .order_by(i.kind, i.value)
        )
        return [Identifier(row.kind, row.value) for row in rows]

    async def owned_by(self, customer_id: uuid.UUID) -> list[OwnedIdentifier]:
        i = identifiers.c
        rows = await self._session.execute(
            select(i.kind, i.value, i.source, i.first_seen_at, i.last_seen_at)
            .where(i.tenant_id == self._tenant_id, i.customer_id == customer_id)
            .order_by(i.kind, i.value)
        )
        return [
            OwnedIdentifier(
                Identifier(row.kind, row.value), row.source, row.first_seen_at, row.last_seen_at
            )
            for row in rows
        ]

    async def release(self, customer_id: uuid.UUID, released: Iterable[Identifier]) -> None:
        """Drop the customer's ownership of these identifiers (others' stay untouched)."""
        keys = [(r.kind, r.value) for r in released]
        if not keys:
            return
        i = identifiers.c
        await self._session.execute(
            delete(identifiers).where(
                i.tenant_id == self._tenant_id,
                i.customer_id == customer_id,
                tuple_(i.kind, i.value).in_(keys),
            )
        )

    async def release_all(self, customer_id: uuid.UUID) -> None:
        i = identifiers.c
        await self._session.execute(
            delete(identifiers).where(i.tenant_id == self._tenant_id, i.customer_id == customer_id)
        )

    async def repoint(
        self, from_customer: uuid.UUID, to_customer: uuid.UUID
    ) -> list[TransferredIdentifier]:
        """Give every identifier of `from_customer` to `to_customer`; what moved."""
        i = identifiers.c
        rows = await self._session.execute(
            update(identifiers)
            .where(i.tenant_id == self._tenant_id, i.customer_id == from_customer)
            .values(customer_id=to_customer)
            .returning(i.kind, i.value, i.source)
        )
        return sorted(
            (TransferredIdentifier(Identifier(row.kind, row.value), row.source) for row in rows),
            key=lambda t: t.identifier,
        )

    async def give_back(
        self,
        wanted: Iterable[Identifier],
        *,
        from_customer: uuid.UUID,
        to_customer: uuid.UUID,
    ) -> list[Identifier]:
        """Move those of `wanted` that `from_customer` still owns to `to_customer`."""
        keys = [(w.kind, w.value) for w in wanted]
        if not keys:
            return []
        i = identifiers.c
        rows = await self._session.execute(
            update(identifiers)
            .where(
                i.tenant_id == self._tenant_id,
                i.customer_id == from_customer,
                tuple_(i.kind, i.value).in_(keys),
            )
            .values(customer_id=to_customer)
            .returning(i.kind, i.value)
        )
        return sorted(Identifier(row.kind, row.value) for row in rows)
