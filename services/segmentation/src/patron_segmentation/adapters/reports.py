# ruff: noqa: S608 - statements are composed of the fixed fragments below; values are bound
"""The reports' figures counted in PostgreSQL, as `domain.reports` defines them.

Each is a few set-based statements over the tenant's live customers (not deleted, not merged
away) and their counted orders (placed, not cancelled); days and months are UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.segments import LIVE_FACTS_SQL
from patron_segmentation.domain.reports import (
    UNKNOWN_SOURCE,
    AcquisitionReport,
    AcquisitionRow,
    Band,
    CategoryFigures,
    Cohort,
    GroupValue,
    Interval,
    PatternsReport,
    RetentionReport,
    ValueReport,
    add_months,
    months_between,
    period_start,
    periods_between,
    value_bands,
)
from patron_shared.events import round_money

_BUYERS = f"{LIVE_FACTS_SQL} AND f.order_count > 0"
# the orders that count, of live customers (`f`), as `o`
_COUNTED_ORDERS = f"""
    orders AS o JOIN customer_facts AS f
      ON f.tenant_id = o.tenant_id AND f.customer_id = o.customer_id
    WHERE o.tenant_id = :tenant AND {LIVE_FACTS_SQL}
      AND o.placed_at IS NOT NULL AND o.cancelled_at IS NULL
"""
_PERCENTILES = (25, 50, 75, 90, 99)
_REPORT_WORK_MEM = "128MB"  # per sort or hash of one report transaction


class SqlReportQueries:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id
        self._memory_set = False

    async def _rows(self, sql: str, **params: Any) -> list[Any]:
        if not self._memory_set:
            # Reports sort and group a tenant's whole order history; in the server's default
            # few megabytes that spills to disk (20 s instead of 8 s over 5 M orders).
            await self._session.execute(text(f"SET LOCAL work_mem = '{_REPORT_WORK_MEM}'"))
            self._memory_set = True
        result = await self._session.execute(text(sql), {"tenant": self._tenant_id, **params})
        return list(result)

    async def acquisition(self, start: date, end: date, interval: Interval) -> AcquisitionReport:
        """New customers and first purchases per period and source, `start` to `end`."""
        bounds = {"start": _midnight(start), "end": _midnight(end + timedelta(days=1))}
        counted: dict[tuple[date, str], list[int]] = {}
        for column, slot in (("registered_at", 0), ("first_order_at", 1)):
            rows = await self._rows(
                f"""
                SELECT (date_trunc(:interval, timezone('UTC', f.{column})))::date AS period,
                       coalesce(f.source, :unknown) AS source, count(*) AS customers
                FROM customer_facts AS f
                WHERE {LIVE_FACTS_SQL} AND f.{column} >= :start AND f.{column} < :end
                  {"AND f.order_count > 0" if slot else ""}
                GROUP BY 1, 2
                """,
                interval=interval,
                unknown=UNKNOWN_SOURCE,
                **bounds,
            )
            for period, source, customers in rows:
                counted.setdefault((period, source), [0, 0])[slot] = int(customers)
        sources = sorted({source for _, source in counted}) or [UNKNOWN_SOURCE]
        return AcquisitionReport(
            interval=interval,
            start=start,
            end=end,
            rows=[
                AcquisitionRow(period, source, *counted.get((period, source), (0, 0)))
                for period in periods_between(start, end, interval)
                for source in sources
            ],
        )

    async def retention(self, today: date, months: int, churn_days: int) -> RetentionReport:
        """The last `months` cohorts by first-order month up to `today`, and buyer figures."""
        first_cohort = add_months(period_start(today, "month"), 1 - months)
        cells = await self._rows(
            f"""
            WITH active AS (
                SELECT DISTINCT o.customer_id,
                       (date_trunc('month', timezone('UTC', o.placed_at)))::date AS month
                FROM {_COUNTED_ORDERS}
            ), cohorts AS (
                SELECT customer_id, min(month) AS cohort FROM active GROUP BY customer_id
            )
            SELECT c.cohort, a.month, count(*)
            FROM cohorts AS c JOIN active AS a USING (customer_id)
            WHERE c.cohort >= :first_cohort
            GROUP BY 1, 2
            """,
            first_cohort=first_cohort,
        )
        this_month = period_start(today, "month")
        active: dict[date, list[int]] = {}
        for cohort, month, customers in cells:
            if cohort > this_month or month > this_month:  # placed in the future: not yet
                continue
            counts = active.setdefault(cohort, [0] * (months_between(cohort, this_month) + 1))
            counts[months_between(cohort, month)] = int(customers)
        (buyers, repeat, churned, lifespan), *_ = await self._rows(
            f"""
            SELECT count(*),
                   count(*) FILTER (WHERE f.order_count >= 2),
                   count(*) FILTER (WHERE f.last_order_at < :churned_before),
                   avg(extract(epoch FROM f.last_order_at - f.first_order_at) / 86400)
                       FILTER (WHERE f.order_count >= 2)
            FROM customer_facts AS f WHERE {_BUYERS}
            """,
            churned_before=_midnight(today) - timedelta(days=churn_days),
        )
        return RetentionReport(
            as_of=today,
            cohorts=[Cohort(month, counts[0], counts) for month, counts in sorted(active.items())],
            buyers=int(buyers),
            repeat_buyers=int(repeat),
            churn_days=churn_days,
            churned=int(churned),
            average_lifespan_days=None if lifespan is None else round(float(lifespan), 2),
        )

    async def currencies(self) -> list[str]:
        """The buyers' statistics currencies, the most buyers' first."""
        rows = await self._rows(
            f"""
            SELECT f.stats_currency FROM customer_facts AS f
            WHERE {_BUYERS} AND f.stats_currency IS NOT NULL
            GROUP BY 1 ORDER BY count(*) DESC, 1
            """
        )
        return [currency for (currency,) in rows]

    async def value(self, currency: str | None) -> ValueReport:
        """Lifetime value (net spend) of the buyers whose statistics are in `currency`."""
        others = [c for c in await self.currencies() if c != currency]
        buyers = f"{_BUYERS} AND f.stats_currency = :currency"
        (count, orders, revenue, cuts), *_ = await self._rows(
            f"""
            SELECT count(*), coalesce(sum(f.order_count), 0), coalesce(sum(f.total_spent), 0),
                   percentile_cont(CAST(:fractions AS float8[]))
                       WITHIN GROUP (ORDER BY f.total_spent)
            FROM customer_facts AS f WHERE {buyers}
            """,
            currency=currency,
            fractions=[0.01, *(p / 100 for p in _PERCENTILES)],
        )
        count = int(count)
        if not count:
            return ValueReport(currency, 0, 0, Decimal(0), 0, Decimal(0), {}, [], [], others)
        low, *at = (_money(cut, currency) for cut in cuts)
        top = math.ceil(count / 10)
        (top_revenue,), *_ = await self._rows(
            f"""
            SELECT coalesce(sum(v), 0) FROM (
                SELECT f.total_spent AS v FROM customer_facts AS f WHERE {buyers}
                ORDER BY f.total_spent DESC LIMIT :top
            ) AS top
            """,
            currency=currency,
            top=top,
        )
        distribution = await self._bands(
            f"SELECT f.total_spent AS v FROM customer_facts AS f WHERE {buyers}",
            value_bands(low, at[-1]),
            currency=currency,
        )
        groups = await self._rows(
            f"""
            SELECT f.group_id, count(*), sum(f.order_count), sum(f.total_spent)
            FROM customer_facts AS f WHERE {buyers}
            GROUP BY 1 ORDER BY 4 DESC, 1
            """,
            currency=currency,
        )
        return ValueReport(
            currency=currency,
            buyers=count,
            orders=int(orders),
            revenue=_money(revenue, currency),
            top_customers=top,
            top_revenue=_money(top_revenue, currency),
            percentiles=dict(zip(_PERCENTILES, at, strict=True)),
            distribution=distribution,
            groups=[
                GroupValue(
                    group, int(customers), int(group_orders), _money(group_revenue, currency)
                )
                for group, customers, group_orders, group_revenue in groups
            ],
            other_currencies=others,
        )

    async def patterns(self, currency: str | None, top: int) -> PatternsReport:
        """Order timing, values and categories of the counted orders in `currency`."""
        orders = f"{_COUNTED_ORDERS} AND o.currency = :currency"
        (count, cuts), *_ = await self._rows(
            f"""
            SELECT count(*), percentile_cont(CAST(:fractions AS float8[]))
                WITHIN GROUP (ORDER BY o.total)
            FROM {orders}
            """,
            currency=currency,
            fractions=[0.01, 0.25, 0.5, 0.75, 0.99],
        )
        if not int(count):
            return PatternsReport(currency, 0, None, None, None, None, [], [], [0] * 7)
        low, p25, median, p75, high = (_money(cut, currency) for cut in cuts)
        # The mean of every gap between a customer's consecutive orders, without sorting
        # them: a customer's gaps add up to its last order less its first (n - 1 of them).
        (mean_gap,), *_ = await self._rows(
            f"""
            SELECT sum(extract(epoch FROM last - first)) / 86400 / nullif(sum(n - 1), 0)
            FROM (
                SELECT min(o.placed_at) AS first, max(o.placed_at) AS last, count(*) AS n
                FROM {orders} GROUP BY o.customer_id
            ) AS spans
            """,
            currency=currency,
        )
        weekdays = dict(
            await self._rows(
                f"""
                SELECT CAST(extract(isodow FROM timezone('UTC', o.placed_at)) AS int), count(*)
                FROM {orders} GROUP BY 1
                """,
                currency=currency,
            )
        )
        categories = await self._rows(
            f"""
            SELECT mode() WITHIN GROUP (ORDER BY label), count(DISTINCT order_id),
                   count(DISTINCT customer_id), sum(quantity), sum(quantity * unit_price)
            FROM (
                SELECT regexp_replace(btrim(item ->> 'category'), '\\s+', ' ', 'g') AS label,
                       o.order_id, o.customer_id,
                       CAST(item ->> 'quantity' AS int) AS quantity,
                       CAST(item ->> 'unit_price' AS numeric) AS unit_price
                FROM (SELECT o.order_id, o.customer_id, o.items FROM {orders}) AS o
                CROSS JOIN LATERAL jsonb_array_elements(o.items) AS item
            ) AS items
            WHERE label <> ''
            -- one category however it is cased; shown as most of its items spell it
            GROUP BY lower(label) ORDER BY 2 DESC, 5 DESC, lower(label) LIMIT :top
            """,
            currency=currency,
            top=top,
        )
        return PatternsReport(
            currency=currency,
            orders=int(count),
            average_days_between_orders=_days(mean_gap),
            order_value_p25=p25,
            order_value_median=median,
            order_value_p75=p75,
            order_values=await self._bands(
                f"SELECT o.total AS v FROM {orders}", value_bands(low, high), currency=currency
            ),
            top_categories=[
                CategoryFigures(
                    name, int(n_orders), int(n_customers), int(units), _money(rev, currency)
                )
                for name, n_orders, n_customers, units, rev in categories
            ],
            orders_by_weekday=[int(weekdays.get(day, 0)) for day in range(1, 8)],
        )

    async def _bands(
        self, values_sql: str, edges: list[Decimal], currency: str | None, **params: Any
    ) -> list[Band]:
        """How many of the values (and their sum) fall in each band between `edges`; below
        the first edge counts in the first band, from the last edge up in an open band."""
        rows = await self._rows(
            f"""
            SELECT greatest(width_bucket(v, CAST(:edges AS numeric[])), 1), count(*), sum(v)
            FROM ({values_sql}) AS amounts GROUP BY 1
            """,
            edges=edges,
            currency=currency,
            **params,
        )
        found = {int(b): (int(n), _money(total, currency)) for b, n, total in rows}
        return [
            Band(
                low=edges[i - 1],
                high=edges[i] if i < len(edges) else None,
                count=found.get(i, (0, Decimal(0)))[0],
                amount=found.get(i, (0, Decimal(0)))[1],
            )
            for i in range(1, len(edges) + 1)
        ]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _money(value: Any, currency: str | None) -> Decimal:
    """An amount from the database (numeric, or float from a percentile) in the currency's
    precision."""
    return round_money(Decimal(0 if value is None else str(value)), currency)


def _days(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)
