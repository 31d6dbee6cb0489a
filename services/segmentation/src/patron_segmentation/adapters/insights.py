"""Order histories for the customer-base models, and the fitted models, in PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.orders import order_state_of
from patron_segmentation.adapters.segments import LIVE_FACTS_SQL, live_facts
from patron_segmentation.adapters.tables import customer_facts, insight_models, orders
from patron_segmentation.domain.predictions import (
    PERIOD_EPOCH,
    UNIT_DAYS,
    CustomerSummary,
    InsightModel,
    TimeUnit,
)

History = list[tuple[datetime, Decimal]]
# What `summarize` does, per customer, in one statement: orders by the end of the day (not
# cancelled by then, in the customer's statistics currency, live customers), net of refunds
# in the order's currency up to its total; one purchase per period; x = periods - 1,
# recency = last - first period, age = the cut-off's period - first, monetary = the mean of
# the periods after the first.
_SUMMARIES = f"""
WITH net AS (
    SELECT o.customer_id,
           ((timezone('UTC', o.placed_at))::date - CAST(:epoch AS date)) / :step AS period,
           CASE WHEN o.refunds = '[]'::jsonb THEN o.total  -- most orders: no refund to read
                ELSE o.total - LEAST(o.total, COALESCE((
                    SELECT sum((r ->> 'amount')::numeric)
                    FROM jsonb_array_elements(o.refunds) AS r
                    WHERE r ->> 'currency' = o.currency), 0)) END AS value
    FROM orders AS o
    JOIN customer_facts AS f ON f.tenant_id = o.tenant_id AND f.customer_id = o.customer_id
    WHERE o.tenant_id = :tenant AND {LIVE_FACTS_SQL}
      AND o.placed_at < :end AND o.currency = f.stats_currency
      AND (o.cancelled_at IS NULL OR o.cancelled_at >= :end)
), periods AS (
    SELECT customer_id, period, sum(value) AS value FROM net GROUP BY customer_id, period
)
SELECT customer_id,
       count(*) - 1 AS x,
       max(period) - min(period) AS recency,
       :now_period - min(period) AS age,
       CASE WHEN count(*) > 1
            THEN (sum(value) - (array_agg(value ORDER BY period))[1]) / (count(*) - 1)
            ELSE 0 END AS monetary
FROM periods
GROUP BY customer_id
"""  # noqa: S608 - a fixed fragment; every value is bound
_O = orders.c
_F = customer_facts.c


class SqlInsightRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def summaries(self, as_of: date, unit: TimeUnit) -> dict[uuid.UUID, CustomerSummary]:
        """Every buyer's summary as `domain.predictions.summarize` makes it, aggregated in SQL
        (a million customers' history never crosses the wire)."""
        step = UNIT_DAYS[unit]
        end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
        now_period = (as_of - PERIOD_EPOCH).days // step
        rows = await self._session.execute(
            text(_SUMMARIES),
            {
                "tenant": self._tenant_id,
                "end": end,
                "step": step,
                "epoch": PERIOD_EPOCH,
                "now_period": now_period,
            },
        )
        return {
            row.customer_id: CustomerSummary(
                frequency=float(row.x),
                recency=float(row.recency),
                age=float(row.age),
                monetary=float(row.monetary),
            )
            for row in rows
        }

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

    async def latest(
        self, unit: TimeUnit, *, on_or_before: date
    ) -> tuple[InsightModel, datetime] | None:
        """The stored model on the most recent data up to `on_or_before`, however old."""
        m = insight_models.c
        row = (
            await self._session.execute(
                select(m.model, m.fitted_at)
                .where(m.tenant_id == self._tenant_id, m.time_unit == unit, m.as_of <= on_or_before)
                .order_by(m.as_of.desc(), m.fitted_at.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else (InsightModel.from_dict(row.model), row.fitted_at)


def _entry(order: Any) -> tuple[datetime, Decimal]:
    return order.placed_at, order.total - order.refunded_amount
