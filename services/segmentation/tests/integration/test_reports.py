"""`/api/v1/reports/...` on a real database, fed through the service's own consumers.

The property test builds random shops (customers from several sources and groups, orders in
two currencies, some cancelled, some refunded) and holds every figure the reports count in
SQL against a plain Python count of the same shop, as `domain.reports` defines them.
Hypothesis runs in a worker thread; each example's events and requests run on the test's
own event loop, which is held still while Hypothesis draws (see `HeldLoop`).
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import mean
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron_segmentation.domain.reports import (
    WEEKDAYS,
    add_months,
    period_start,
    top_share,
)
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerSnapshot,
    OrderCancelled,
    OrderItem,
    OrderPlaced,
    OrderRefunded,
    build_envelope,
    utcnow,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import HeldLoop, bearer_headers, deliver_record

pytestmark = pytest.mark.integration
URL = "/api/v1/reports"
SOURCES = ("shopify", "woocommerce", "whatsapp", None)
GROUPS = (uuid.UUID(int=1), uuid.UUID(int=2), None)
CATEGORIES = ("Shoes", "Bags", "Gifts", "Hats", None)
CHURN_DAYS = 180


@dataclass(frozen=True)
class PlannedOrder:
    days_ago: int
    quantity: int
    unit_price: Decimal
    category: str | None
    cancelled: bool
    refund_share: Decimal  # of the total, 0 for none

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price

    @property
    def net(self) -> Decimal:
        return self.total - (self.total * self.refund_share).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Shopper:
    source: str | None
    group: uuid.UUID | None
    registered_days_ago: int
    currency: str
    orders: list[PlannedOrder]
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def counted(self, now: datetime) -> list[tuple[datetime, PlannedOrder]]:
        return sorted(
            (placed_at(now, self, n, order), order)
            for n, order in enumerate(self.orders)
            if not order.cancelled
        )


def placed_at(now: datetime, shopper: Shopper, n: int, order: PlannedOrder) -> datetime:
    # distinct times per customer, spread over the hours of the day
    return now - timedelta(days=order.days_ago, hours=(shopper.id.int + 5 * n) % 24, minutes=n)


orders_strategy = st.builds(
    PlannedOrder,
    days_ago=st.integers(0, 500),
    quantity=st.integers(1, 3),
    unit_price=st.decimals(1, 400, places=2),
    category=st.sampled_from(CATEGORIES),
    cancelled=st.sampled_from((False, False, False, True)),
    refund_share=st.sampled_from((Decimal(0), Decimal(0), Decimal("0.5"), Decimal(1))),
)
shoppers_strategy = st.builds(
    Shopper,
    source=st.sampled_from(SOURCES),
    group=st.sampled_from(GROUPS),
    registered_days_ago=st.integers(0, 500),
    currency=st.sampled_from(("USD", "USD", "EUR")),
    orders=st.lists(orders_strategy, max_size=5),
    # drawn, not left to uuid4: the id sets the hours of the orders, and a failing shop
    # must come back the same when Hypothesis replays it
    id=st.uuids(version=4),
)
# the first ten hex digits name a shopper's email and orders
shops_strategy = st.lists(shoppers_strategy, max_size=9, unique_by=lambda s: s.id.hex[:10])


async def deliver(runtime: ServiceRuntime, tenant: str, event: Contract) -> None:
    outcome = await deliver_record(runtime, build_envelope(event, tenant_id=tenant, source="t"))
    assert outcome == "processed"


async def open_shop(runtime: ServiceRuntime, tenant: str, shoppers: list[Shopper]) -> None:
    now = utcnow()
    for shopper in shoppers:
        registered = now - timedelta(days=shopper.registered_days_ago)
        snapshot = CustomerSnapshot(
            email=f"{shopper.id.hex[:10]}@example.com",
            source=shopper.source,
            group_id=shopper.group,
            created_at=registered,
            updated_at=registered,
        )
        await deliver(runtime, tenant, CustomerCreated(customer_id=shopper.id, customer=snapshot))
        for n, order in enumerate(shopper.orders):
            order_id, at = f"{shopper.id.hex[:10]}-{n}", placed_at(now, shopper, n, order)
            item = OrderItem(
                name="item",
                category=order.category,
                quantity=order.quantity,
                unit_price=order.unit_price,
            )
            await deliver(
                runtime,
                tenant,
                OrderPlaced(
                    order_id=order_id,
                    customer_id=shopper.id,
                    currency=shopper.currency,
                    total=order.total,
                    placed_at=at,
                    items=[item],
                ),
            )
            if order.cancelled:
                await deliver(
                    runtime,
                    tenant,
                    OrderCancelled(order_id=order_id, customer_id=shopper.id, cancelled_at=at),
                )
            elif order.refund_share:
                await deliver(
                    runtime,
                    tenant,
                    OrderRefunded(
                        order_id=order_id,
                        customer_id=shopper.id,
                        amount=order.total - order.net,
                        currency=shopper.currency,
                        refunded_at=at + timedelta(minutes=1),
                    ),
                )


def percentile(values: list[Decimal], fraction: float) -> Decimal:
    """Linear interpolation between the closest ranks, as percentile_cont does."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    weight = Decimal(str(position - below))
    return ordered[below] + (ordered[above] - ordered[below]) * weight


def expected_acquisition(shoppers: list[Shopper], now: datetime) -> dict[str, Any]:
    today = now.date()
    start = add_months(period_start(today, "month"), -11)
    registered: Counter[str] = Counter()
    first: Counter[str] = Counter()
    for s in shoppers:
        source = s.source or "unknown"
        if start <= (now - timedelta(days=s.registered_days_ago)).date() <= today:
            registered[source] += 1
        counted = s.counted(now)
        if counted and start <= counted[0][0].date() <= today:
            first[source] += 1
    return {"new_customers": dict(registered), "first_purchases": sum(first.values())}


def expected_retention(shoppers: list[Shopper], now: datetime) -> dict[str, Any]:
    today = now.date()
    this_month = period_start(today, "month")
    first_cohort = add_months(this_month, -11)
    buyers = [s.counted(now) for s in shoppers if s.counted(now)]
    cohorts: dict[str, list[int]] = {}
    for counted in buyers:
        cohort = period_start(counted[0][0].date(), "month")
        if cohort < first_cohort:
            continue
        width = (this_month.year - cohort.year) * 12 + this_month.month - cohort.month + 1
        row = cohorts.setdefault(cohort.strftime("%Y-%m"), [0] * width)
        for month in {period_start(at.date(), "month") for at, _ in counted}:
            row[(month.year - cohort.year) * 12 + month.month - cohort.month] += 1
    churned_before = datetime.combine(today, datetime.min.time(), UTC) - timedelta(CHURN_DAYS)
    repeat = [c for c in buyers if len(c) >= 2]
    return {
        "buyers": len(buyers),
        "repeat_buyers": len(repeat),
        "churned": sum(1 for c in buyers if c[-1][0] < churned_before),
        "lifespan": mean((c[-1][0] - c[0][0]).total_seconds() / 86400 for c in repeat)
        if repeat
        else None,
        "cohorts": cohorts,
    }


def expected_value(shoppers: list[Shopper], now: datetime, currency: str) -> dict[str, Any]:
    spent: list[Decimal] = []
    groups: dict[str, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
    orders = 0
    for s in shoppers:
        counted = s.counted(now)
        if not counted or s.currency != currency:
            continue
        net = sum((order.net for _, order in counted), Decimal(0))
        spent.append(net)
        orders += len(counted)
        group = groups[str(s.group) if s.group else ""]
        group[0], group[1], group[2] = group[0] + 1, group[1] + len(counted), group[2] + net
    return {"spent": spent, "orders": orders, "groups": dict(groups)}


def expected_patterns(shoppers: list[Shopper], now: datetime, currency: str) -> dict[str, Any]:
    gaps: list[float] = []
    weekdays = [0] * 7
    totals: list[Decimal] = []
    categories: dict[str, list[Any]] = defaultdict(lambda: [0, set(), 0, Decimal(0)])
    for s in shoppers:
        if s.currency != currency:
            continue
        counted = s.counted(now)
        gaps += [(b[0] - a[0]).total_seconds() / 86400 for a, b in pairwise(counted)]
        for at, order in counted:
            weekdays[at.weekday()] += 1
            totals.append(order.total)
            if order.category:
                figures = categories[order.category.lower()]
                figures[0] += 1
                figures[1].add(s.id)
                figures[2] += order.quantity
                figures[3] += order.total
    ranked = sorted(categories.items(), key=lambda kv: (-kv[1][0], -kv[1][3], kv[0]))
    return {
        "orders": len(totals),
        "gap": mean(gaps) if gaps else None,
        "weekdays": weekdays,
        "totals": totals,
        "categories": [
            {"category": name, "orders": n, "customers": len(c), "units": u, "revenue": r}
            for name, (n, c, u, r) in ranked
        ],
    }


async def check_reports(
    runtime: ServiceRuntime, client: httpx.AsyncClient, shoppers: list[Shopper]
) -> None:
    tenant = f"reports-{uuid.uuid4().hex[:12]}"
    await open_shop(runtime, tenant, shoppers)
    now = utcnow()
    analyst = bearer_headers(tenant, "analyst")

    async def get(path: str, **params: Any) -> dict[str, Any]:
        response = await client.get(f"{URL}/{path}", params=params, headers=analyst)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    acquisition = await get("acquisition")
    want = expected_acquisition(shoppers, now)
    assert {k: v for k, v in acquisition["new_customers_by_source"].items() if v} == (
        want["new_customers"]
    )
    assert acquisition["first_purchases"] == want["first_purchases"]
    assert len({row["period"] for row in acquisition["rows"]}) == 12

    retention = await get("retention", churn_days=CHURN_DAYS)
    want = expected_retention(shoppers, now)
    assert (retention["buyers"], retention["repeat_buyers"], retention["churned"]) == (
        want["buyers"],
        want["repeat_buyers"],
        want["churned"],
    )
    assert {c["month"]: c["active"] for c in retention["cohorts"]} == want["cohorts"]
    if want["lifespan"] is None:
        assert retention["average_lifespan_days"] is None
    else:
        assert retention["average_lifespan_days"] == pytest.approx(want["lifespan"], abs=0.006)

    value = await get("value", currency="USD")
    want = expected_value(shoppers, now, "USD")
    spent: list[Decimal] = want["spent"]
    assert (value["buyers"], value["orders"]) == (len(spent), want["orders"])
    assert Decimal(value["revenue"]) == sum(spent, Decimal(0))
    top, top_revenue = top_share(spent)
    assert value["top_10_percent_customers"] == top
    if spent and sum(spent) > 0:
        share = float(top_revenue / sum(spent))
        assert value["top_10_percent_revenue_share"] == pytest.approx(share)
        median = Decimal(value["lifetime_value_percentiles"]["p50"])
        assert abs(median - percentile(spent, 0.5)) <= Decimal("0.01")
    assert sum(band["count"] for band in value["distribution"]) == len(spent)
    assert sum(Decimal(band["amount"]) for band in value["distribution"]) == sum(spent)
    assert {
        g["group_id"] or "": [g["customers"], g["orders"], Decimal(g["revenue"])]
        for g in value["groups"]
    } == want["groups"]

    patterns = await get("purchase-patterns", currency="USD")
    want = expected_patterns(shoppers, now, "USD")
    assert patterns["orders"] == want["orders"]
    assert list(patterns["orders_by_weekday"].values()) == want["weekdays"]
    if want["gap"] is None:
        assert patterns["average_days_between_orders"] is None
    else:
        assert patterns["average_days_between_orders"] == pytest.approx(want["gap"], abs=0.006)
    found_categories = [
        {**c, "category": c["category"].lower(), "revenue": Decimal(c["revenue"])}
        for c in patterns["top_categories"]
    ]
    assert found_categories == want["categories"]
    assert sum(band["count"] for band in patterns["order_values"]) == want["orders"]
    if want["totals"]:
        median = Decimal(patterns["order_value_median"])
        assert abs(median - percentile(want["totals"], 0.5)) <= Decimal("0.01")


async def test_every_report_figure_agrees_with_a_plain_count_of_the_shop(
    runtime: ServiceRuntime, client: httpx.AsyncClient
) -> None:
    loop = asyncio.get_running_loop()

    def check_shops() -> None:
        with HeldLoop(loop) as held:

            @settings(
                max_examples=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(shoppers=shops_strategy)
            def reports_agree(shoppers: list[Shopper]) -> None:
                held.run(check_reports(runtime, client, shoppers))

            reports_agree()

    await asyncio.to_thread(check_shops)


@pytest.fixture
def analyst(tenant: str) -> dict[str, str]:
    return bearer_headers(tenant, "analyst")


async def test_a_shop_with_no_customers_gets_empty_reports_not_errors(
    client: httpx.AsyncClient, analyst: dict[str, str]
) -> None:
    summary = await client.get(f"{URL}/summary", headers=analyst)

    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["retention"]["buyers"] == 0
    assert body["retention"]["repeat_purchase_rate"] is None
    assert body["value"]["currency"] is None
    assert body["value"]["distribution"] == []
    assert body["purchase_patterns"]["orders"] == 0
    assert body["acquisition"]["new_customers"] == 0


async def test_each_report_table_comes_as_csv(
    runtime: ServiceRuntime, client: httpx.AsyncClient, tenant: str, analyst: dict[str, str]
) -> None:
    order = PlannedOrder(3, 2, Decimal("12.50"), "Shoes", False, Decimal(0))
    await open_shop(
        runtime, tenant, [Shopper("shopify", None, 10, "USD", [order, order]) for _ in range(3)]
    )
    csv_accept = {**analyst, "Accept": "text/csv"}

    async def table(path: str, **params: str) -> list[dict[str, str]]:
        response = await client.get(f"{URL}/{path}", params=params, headers=csv_accept)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        return list(csv.DictReader(io.StringIO(response.text)))

    periods = await table("acquisition", interval="week")
    assert sum(int(row["new_customers"]) for row in periods) == 3
    assert {row["source"] for row in periods} == {"shopify"}
    summary = {r["metric"]: r["value"] for r in await table("retention", table="summary")}
    assert summary["repeat_purchase_rate"] == "1.0000"
    cohorts = await table("retention")
    # the orders may fall either side of a month's start: in one cohort or two
    assert sum(int(cohort["customers"]) for cohort in cohorts) == 3
    groups = await table("value", table="groups")
    assert groups == [
        {
            "group_id": "",
            "customers": "3",
            "orders": "6",
            "revenue": "150.00",
            "average_order_value": "25.00",
        }
    ]
    categories = await table("purchase-patterns", table="categories")
    assert categories[0]["category"] == "Shoes"
    assert categories[0]["units"] == "12"
    weekdays = await table("purchase-patterns", table="weekdays")
    assert [row["weekday"] for row in weekdays] == list(WEEKDAYS)


async def test_the_summary_comes_as_a_pdf_report(
    runtime: ServiceRuntime, client: httpx.AsyncClient, tenant: str, analyst: dict[str, str]
) -> None:
    order = PlannedOrder(40, 1, Decimal("80.00"), "Bags", False, Decimal(0))
    await open_shop(runtime, tenant, [Shopper("woocommerce", None, 60, "EUR", [order])])

    response = await client.get(f"{URL}/summary", headers={**analyst, "Accept": "application/pdf"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert len(response.content) > 2_000


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("acquisition", {"interval": "year"}, "interval"),
        ("acquisition", {"from": "2026-05-01", "to": "2026-04-01"}, "from"),
        ("acquisition", {"interval": "day", "from": "2020-01-01"}, "from"),
        ("retention", {"months": "0"}, "months"),
        ("value", {"currency": "usd"}, "currency"),
        ("purchase-patterns", {"top": "500"}, "top"),
    ],
)
async def test_bad_report_parameters_are_a_422_naming_the_parameter(
    client: httpx.AsyncClient,
    analyst: dict[str, str],
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    response = await client.get(f"{URL}/{path}", params=params, headers=analyst)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def test_an_unknown_csv_table_is_a_422_listing_the_tables(
    client: httpx.AsyncClient, analyst: dict[str, str]
) -> None:
    response = await client.get(
        f"{URL}/value", params={"table": "nope"}, headers={**analyst, "Accept": "text/csv"}
    )

    assert response.status_code == 422
    assert response.json()["allowed"] == ["distribution", "groups", "summary"]


async def test_reports_need_analytics_read(client: httpx.AsyncClient, tenant: str) -> None:
    support_desk = bearer_headers(tenant, scopes=["customers:read", "segments:read"])

    response = await client.get(f"{URL}/value", headers=support_desk)

    assert response.status_code == 403
