"""Membership persistence: all SQL of the loyalty service lives here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_loyalty.adapters.tables import loyalty_members
from patron_loyalty.domain.member import LoyaltyMember


class SqlMemberRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> LoyaltyMember | None:
        query = select(loyalty_members).where(
            loyalty_members.c.tenant_id == self._tenant_id,
            loyalty_members.c.customer_id == customer_id,
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_member(row)

    async def save(self, member: LoyaltyMember) -> None:
        """Insert or update; a write older than the stored row never replaces it."""
        values = {
            "member_since": member.member_since,
            "status": member.status,
            "source_updated_at": member.source_updated_at,
            "closed_at": member.closed_at,
        }
        insert = pg_insert(loyalty_members).values(
            tenant_id=self._tenant_id, customer_id=member.customer_id, **values
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "customer_id"],
                set_=values | {"updated_at": func.now()},
                where=loyalty_members.c.source_updated_at <= insert.excluded.source_updated_at,
            )
        )


def _to_member(row: Row[Any]) -> LoyaltyMember:
    return LoyaltyMember(
        customer_id=row.customer_id,
        member_since=row.member_since,
        status=row.status,
        source_updated_at=row.source_updated_at,
        closed_at=row.closed_at,
    )
