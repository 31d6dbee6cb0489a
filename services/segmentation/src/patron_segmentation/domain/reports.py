"""The reports a shop owner reads: acquisition, retention, value and purchase patterns.

The figures are counted in the database (`adapters.reports`); here are what each report holds,
the plain-Python definitions the SQL is tested against, the value bands a distribution is
drawn in, and each report's tables as its CSV gives them.

Definitions, in one place:
- a *buyer* is a live customer (not deleted, not merged away) with at least one order that
  counts (placed, not cancelled); *revenue* and a customer's *lifetime value* are order totals
  less refunds, in the customer's statistics currency;
- *new customers* in a period registered then; *first purchases* are buyers whose first order
  was placed then;
- a *cohort* is the buyers whose first order fell in one calendar month (UTC); its month k
  counts those of them with an order in the k-th month after it (month 0: all of them);
- the *repeat purchase rate* is the share of buyers with two orders or more; the *churn rate*
  the share of buyers whose last order is older than the churn window; the *average lifespan*
  the mean days from first to last order over repeat buyers (as the insight model's);
- the *top 10%* are the ceil(n / 10) buyers with the highest lifetime value.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

Interval = Literal["day", "week", "month"]
UNKNOWN_SOURCE = "unknown"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# rows of a CSV table: its header first
Table = list[list[str]]


def period_start(day: date, interval: Interval) -> date:
    """The first day of the period holding `day`: weeks start on Monday (ISO)."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def periods_between(start: date, end: date, interval: Interval) -> list[date]:
    """Every period's first day from the one holding `start` to the one holding `end`."""
    found: list[date] = []
    current = period_start(start, interval)
    while current <= end:
        found.append(current)
        current = next_period(current, interval)
    return found


def next_period(first_day: date, interval: Interval) -> date:
    if interval == "day":
        return first_day + timedelta(days=1)
    if interval == "week":
        return first_day + timedelta(days=7)
    return add_months(first_day, 1)


def add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def value_bands(low: Decimal, high: Decimal, *, most: int = 10) -> list[Decimal]:
    """Band edges for a skewed spread of amounts, most of them from `low` to `high`: 0, then
    1, 2 and 5 times powers of ten from the first above `low` to the first above `high`
    (fewer steps a decade when that makes more than `most` bands). Amounts from the last
    edge up fall in an open band after it."""
    if high <= 0:
        return [Decimal(0)]
    edges = [Decimal(0)]
    for steps in ((1, 2, 5), (1, 3), (1,)):
        edges = [Decimal(0)]
        # a band under a hundredth of the top one would show nothing anyone reads
        exponent = math.floor(math.log10(max(float(low), float(high) / 100, 0.01)))
        while edges[-1] <= high:
            for step in steps:
                edge = Decimal(step) * Decimal(10) ** exponent
                if edge > max(low, high / 100) and edge > edges[-1]:
                    edges.append(edge)
                    if edge > high:
                        break
            exponent += 1
        if len(edges) - 1 <= most:
            break
    return edges


@dataclass(frozen=True)
class Band:
    """Amounts from `low` (inclusive) to `high` (exclusive; None: no upper bound)."""

    low: Decimal
    high: Decimal | None
    count: int
    amount: Decimal

    @property
    def label(self) -> str:
        if self.high is None:
            return f"{_amount(self.low)}+"
        return f"{_amount(self.low)}-{_amount(self.high)}"


def _amount(value: Decimal) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value.normalize():f}"


@dataclass(frozen=True)
class AcquisitionRow:
    period: date
    source: str
    new_customers: int
    first_purchases: int


@dataclass(frozen=True)
class AcquisitionReport:
    interval: Interval
    start: date
    end: date  # inclusive
    # one row per period and source, zeros included, periods in order then sources by name
    rows: list[AcquisitionRow]

    @property
    def sources(self) -> list[str]:
        return sorted({row.source for row in self.rows})

    @property
    def periods(self) -> list[date]:
        return sorted({row.period for row in self.rows})

    @property
    def new_customers(self) -> int:
        return sum(row.new_customers for row in self.rows)

    @property
    def first_purchases(self) -> int:
        return sum(row.first_purchases for row in self.rows)

    def new_customers_by_source(self) -> dict[str, int]:
        totals = dict.fromkeys(self.sources, 0)
        for row in self.rows:
            totals[row.source] += row.new_customers
        return totals

    def tables(self) -> dict[str, Table]:
        return {
            "periods": [
                ["period", "source", "new_customers", "first_purchases"],
                *(
                    [
                        row.period.isoformat(),
                        row.source,
                        str(row.new_customers),
                        str(row.first_purchases),
                    ]
                    for row in self.rows
                ),
            ]
        }


@dataclass(frozen=True)
class Cohort:
    month: date  # the first day of the first-order month
    customers: int
    # active[k]: customers of the cohort with an order in month k after `month`; up to the
    # report's month, so active[0] == customers
    active: list[int]

    def retention(self) -> list[float]:
        return [count / self.customers for count in self.active] if self.customers else []


@dataclass(frozen=True)
class RetentionReport:
    as_of: date
    cohorts: list[Cohort]  # oldest first
    buyers: int
    repeat_buyers: int
    churn_days: int
    churned: int
    average_lifespan_days: float | None  # None with no repeat buyer

    @property
    def repeat_purchase_rate(self) -> float | None:
        return self.repeat_buyers / self.buyers if self.buyers else None

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.buyers if self.buyers else None

    def tables(self) -> dict[str, Table]:
        width = max((len(cohort.active) for cohort in self.cohorts), default=0)
        return {
            "cohorts": [
                ["cohort", "customers", *(f"month_{k}" for k in range(width))],
                *(
                    [cohort.month.strftime("%Y-%m"), str(cohort.customers)]
                    + [f"{share:.4f}" for share in cohort.retention()]
                    + [""] * (width - len(cohort.active))
                    for cohort in self.cohorts
                ),
            ],
            "summary": _summary(
                ("buyers", self.buyers),
                ("repeat_buyers", self.repeat_buyers),
                ("repeat_purchase_rate", self.repeat_purchase_rate),
                ("churn_days", self.churn_days),
                ("churned", self.churned),
                ("churn_rate", self.churn_rate),
                ("average_lifespan_days", self.average_lifespan_days),
            ),
        }


@dataclass(frozen=True)
class GroupValue:
    group_id: uuid.UUID | None  # None: customers in no group
    customers: int
    orders: int
    revenue: Decimal

    @property
    def average_order_value(self) -> Decimal | None:
        return _mean(self.revenue, self.orders)


@dataclass(frozen=True)
class ValueReport:
    currency: str | None  # None: no buyer yet
    buyers: int
    orders: int
    revenue: Decimal
    top_customers: int  # ceil(buyers / 10)
    top_revenue: Decimal
    # lifetime value at the 25th, 50th, 75th, 90th and 99th percentile (continuous)
    percentiles: dict[int, Decimal]
    distribution: list[Band]  # count: customers; amount: their revenue
    groups: list[GroupValue]  # by revenue, largest first
    other_currencies: list[str] = field(default_factory=list)

    @property
    def average_order_value(self) -> Decimal | None:
        return _mean(self.revenue, self.orders)

    @property
    def top_revenue_share(self) -> float | None:
        return float(self.top_revenue / self.revenue) if self.revenue > 0 else None

    def tables(self) -> dict[str, Table]:
        return {
            "distribution": [
                ["lifetime_value_from", "lifetime_value_to", "customers", "revenue"],
                *(_band_row(band) for band in self.distribution),
            ],
            "groups": [
                ["group_id", "customers", "orders", "revenue", "average_order_value"],
                *(
                    [
                        str(g.group_id or ""),
                        str(g.customers),
                        str(g.orders),
                        _money(g.revenue),
                        _money(g.average_order_value),
                    ]
                    for g in self.groups
                ),
            ],
            "summary": _summary(
                ("currency", self.currency),
                ("buyers", self.buyers),
                ("orders", self.orders),
                ("revenue", self.revenue),
                ("average_order_value", self.average_order_value),
                ("top_10_percent_customers", self.top_customers),
                ("top_10_percent_revenue_share", self.top_revenue_share),
                *((f"lifetime_value_p{p}", v) for p, v in sorted(self.percentiles.items())),
            ),
        }


@dataclass(frozen=True)
class CategoryFigures:
    category: str  # as most of its items spell it; categories differing in case are one
    orders: int
    customers: int
    units: int
    revenue: Decimal  # quantity x unit price of the category's items (before refunds)


@dataclass(frozen=True)
class PatternsReport:
    currency: str | None
    orders: int
    average_days_between_orders: float | None  # over consecutive orders of one customer
    # order totals (before refunds) at the 25th, 50th and 75th percentile: the typical range
    order_value_p25: Decimal | None
    order_value_median: Decimal | None
    order_value_p75: Decimal | None
    order_values: list[Band]  # count: orders; amount: their totals
    top_categories: list[CategoryFigures]  # most orders first
    orders_by_weekday: list[int]  # Monday first, UTC

    def tables(self) -> dict[str, Table]:
        return {
            "categories": [
                ["category", "orders", "customers", "units", "revenue"],
                *(
                    [c.category, str(c.orders), str(c.customers), str(c.units), _money(c.revenue)]
                    for c in self.top_categories
                ),
            ],
            "order_values": [
                ["order_value_from", "order_value_to", "orders", "total"],
                *(_band_row(band) for band in self.order_values),
            ],
            "weekdays": [
                ["weekday", "orders"],
                *([day, str(n)] for day, n in zip(WEEKDAYS, self.orders_by_weekday, strict=True)),
            ],
            "summary": _summary(
                ("currency", self.currency),
                ("orders", self.orders),
                ("average_days_between_orders", self.average_days_between_orders),
                ("order_value_p25", self.order_value_p25),
                ("order_value_median", self.order_value_median),
                ("order_value_p75", self.order_value_p75),
            ),
        }


def top_share(values: Sequence[Decimal]) -> tuple[int, Decimal]:
    """How many customers the top 10% are, and their total: the definition the SQL meets."""
    top = math.ceil(len(values) / 10)
    return top, sum(sorted(values, reverse=True)[:top], Decimal(0))


def _mean(total: Decimal, count: int) -> Decimal | None:
    return (total / count).quantize(Decimal("0.01")) if count else None


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(Decimal('0.01'))}"


def _band_row(band: Band) -> list[str]:
    return [_money(band.low), _money(band.high), str(band.count), _money(band.amount)]


def _summary(*figures: tuple[str, object]) -> Table:
    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4f}"
        if isinstance(value, Decimal):
            return _money(value)
        return str(value)

    return [["metric", "value"], *([name, text(value)] for name, value in figures)]


@dataclass(frozen=True)
class OwnerReport:
    """All four reports at one moment: what the PDF report shows."""

    tenant_id: str
    generated_at: datetime
    acquisition: AcquisitionReport
    retention: RetentionReport
    value: ValueReport
    patterns: PatternsReport
