"""RFM scores in PostgreSQL: the tenant's distribution, or one customer's, as domain.rfm says.

A score is computed from counts (customers whose value is at most this one's, and all of
them) in whole numbers, exactly as `domain.rfm.quintile_of` does.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.segments import live_facts
from patron_segmentation.adapters.tables import customer_facts
from patron_segmentation.domain.rfm import RfmScore, quintile_of

_F = customer_facts.c
# recency, frequency, monetary: the column each score ranks, ascending to better
_RANKED = (_F.last_order_at, _F.order_count, _F.total_spent)


def _score(at_most: ColumnElement[Any], total: ColumnElement[Any]) -> ColumnElement[int]:
    # greatest(1, ceil(5 * at_most / total)) in integers: `//` is SQL's integer division
    # (SQLAlchemy's `/` divides exactly, and casting that back would round)
    return func.greatest(literal(1), cast((5 * at_most + total - 1) // total, Integer))


class SqlRfmQueries:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    def _buyers(self) -> ColumnElement[bool]:
        buyers: ColumnElement[bool] = and_(live_facts(self._tenant_id), _F.order_count > 0)
        return buyers

    async def distribution(self) -> list[tuple[RfmScore, int]]:
        """How many buyers hold each (R, F, M) score."""
        total = func.count().over()
        scored = (
            select(
                *(
                    _score(func.count().over(order_by=column), total).label(name)
                    for name, column in zip(("r", "f", "m"), _RANKED, strict=True)
                )
            )
            .where(self._buyers())
            .subquery()
        )
        rows = await self._session.execute(
            select(scored.c.r, scored.c.f, scored.c.m, func.count()).group_by(
                scored.c.r, scored.c.f, scored.c.m
            )
        )
        return [(RfmScore(r, f, m), int(count)) for r, f, m, count in rows]

    async def of_customer(self, customer_id: uuid.UUID) -> RfmScore | None:
        """The customer's scores among the tenant's buyers; None when it has no order."""
        own = select(*_RANKED).where(self._buyers(), _F.customer_id == customer_id).subquery()
        query = select(
            func.count(),
            *(func.count().filter(column <= own.c[column.key]) for column in _RANKED),
        ).where(self._buyers(), own.c[_RANKED[0].key].is_not(None))
        total, *at_most = (
            await self._session.execute(query.select_from(customer_facts).join(own, literal(True)))
        ).one()
        if not total:
            return None
        r, f, m = (quintile_of(int(count), int(total)) for count in at_most)
        return RfmScore(r, f, m)
