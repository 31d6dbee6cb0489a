"""Order histories for the customer-base models, and the fitted models, in PostgreSQL."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.orders import order_state_of
from patron_segmentation.adapters.segments import live_facts
from patron_segmentation.adapters.tables import customer_facts, insight_models, orders
from patron_segmentation.domain.predictions import InsightModel, TimeUnit

History = list[tuple[datetime, Decimal]]
_O = orders.c
_F = customer_facts.c


class SqlInsightRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def histories(self, as_of: date) -> dict[uuid.UUID, History]:
        """Every live customer's counted orders placed by the end of `as_of` (UTC): time and
        value net of refunds, in the customer's statistics currency."""
        found: dict[uuid.UUID, History] = defaultdict(list)
        for row in await self._session.execute(self._orders(as_of)):
            state = order_state_of(row)
            found[state.customer_id].append(_entry(state))
        return dict(found)

    async def history(self, customer_id: uuid.UUID, as_of: date) -> History:
        rows = await self._session.execute(self._orders(as_of).where(_O.customer_id == customer_id))
        return [_entry(order_state_of(row)) for row in rows]

    def _orders(self, as_of: date) -> Select[Any]:
        end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
        return (
            select(orders)
            .join(
                customer_facts,
                and_(_F.tenant_id == _O.tenant_id, _F.customer_id == _O.customer_id),
            )
            .where(
                _O.tenant_id == self._tenant_id,
                live_facts(self._tenant_id),
                _O.placed_at < end,
                _O.currency == _F.stats_currency,
                # an order cancelled later was a purchase on the day the data stops
                or_(_O.cancelled_at.is_(None), _O.cancelled_at >= end),
            )
            .order_by(_O.customer_id, _O.placed_at)
        )

    async def save(self, model: InsightModel, fitted_at: datetime) -> None:
        values = {"model": model.to_dict(), "fitted_at": fitted_at}
        await self._session.execute(
            pg_insert(insight_models)
            .values(
                tenant_id=self._tenant_id, as_of=model.as_of, time_unit=model.time_unit, **values
            )
            .on_conflict_do_update(index_elements=["tenant_id", "as_of", "time_unit"], set_=values)
        )

    async def get(self, as_of: date, unit: TimeUnit) -> tuple[InsightModel, datetime] | None:
        row = (
            await self._session.execute(
                select(insight_models.c.model, insight_models.c.fitted_at).where(
                    insight_models.c.tenant_id == self._tenant_id,
                    insight_models.c.as_of == as_of,
                    insight_models.c.time_unit == unit,
                )
            )
        ).first()
        return None if row is None else (InsightModel.from_dict(row.model), row.fitted_at)


def _entry(order: Any) -> tuple[datetime, Decimal]:
    return order.placed_at, order.total - order.refunded_amount
