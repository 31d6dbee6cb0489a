"""Segmentation benchmark: 1,000,000 customers and 5,000,000 orders in one tenant.

1. A fresh segmentation database, migrated with the service's own migrations.
2. Set-based seeding as the owner: `--orders` orders over `--customers` customers (skewed:
   a few customers order often), placed over two years with totals from 5 to 405, in one
   `INSERT ... SELECT generate_series(...)`; then each customer's facts (tags, consent,
   registration, birth date, country and city, and the order facts folded from its orders as
   the service folds them) in another; `ANALYZE`.
3. Through the service's own code (its unit of work on a real engine):
   - first population of the 10 built-in and 20 custom segments from no membership at all:
     every membership written and every entry announced through the outbox;
   - then the full recompute of all 30 that a sweep or a rule change runs, with the
     memberships in place and the clock a day later, so what a day changes moves and is
     announced (target <= 30 s);
   - custom segment preview: the count of each of the 20 rules (target <= 2 s each);
   - fit of the BG/NBD and Gamma-Gamma models on the whole order history (target <= 60 s);
   - each report (acquisition, retention, value, purchase patterns) once, as a request would.
4. Prints the figures and writes JSON to bench/results/segmentation-<UTC time>.json and
   segmentation-latest.json; drops the database unless `--keep-db`.

The event -> membership latency at 1,000 order events/s (target p99 <= 1 s) needs the
service's consumer and relay on Kafka: `bench/segmentation_latency.py` measures it.

    uv run python bench/segmentation.py [--customers N] [--orders N] [--phases P,Q] [--keep-db]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
NAME = "segmentation"
TENANT = "bench-segments"
SERVICE = ROOT / "services" / "segmentation"

from patron_segmentation.adapters.tables import messaging  # noqa: E402
from patron_segmentation.adapters.uow import SegmentationUnitOfWork  # noqa: E402
from patron_segmentation.domain.membership import SegmentDefinition, definitions  # noqa: E402
from patron_segmentation.domain.rules import parse  # noqa: E402
from patron_segmentation.service.insights import tenant_model  # noqa: E402
from patron_segmentation.service.membership import recompute_segments  # noqa: E402
from patron_segmentation.service.reports import (  # noqa: E402
    acquisition_report,
    patterns_report,
    retention_report,
    value_report,
)
from patron_segmentation.settings import SegmentationSettings  # noqa: E402
from patron_shared.db import create_engine, create_session_factory  # noqa: E402
from patron_shared.events import utcnow  # noqa: E402
from patron_shared.testing import (  # noqa: E402
    create_service_database,
    drop_database,
    resolve_database_url,
)

CUSTOM_RULES = (
    'total_spent > 1000 AND last_order_at < -90d AND tags CONTAINS "gift"',
    "last_order_month IN (11, 12) AND order_total_max > 100",
    "order_count >= 3 AND average_order_value > 150",
    "country = 'IN' AND total_spent > 500",
    "city IN ('Pune', 'Mumbai', 'Delhi') AND order_count >= 2",
    "age BETWEEN 18 AND 24 AND accepts_marketing = true",
    "age >= 60 AND last_order_at >= -180d",
    "registered_at >= -30d",
    "order_count = 0 AND registered_at < -365d",
    "tags CONTAINS 'vip' OR total_spent >= 3000",
    "NOT tags CONTAINS 'wholesale' AND order_total_min < 20",
    "first_order_at >= -365d AND order_count >= 4",
    "last_order_at BETWEEN -60d AND -30d",
    "accepts_marketing = false AND order_count >= 5",
    "country IN ('US', 'GB') AND age < 30",
    "total_spent BETWEEN 100 AND 200",
    "order_count > 10",
    "last_order_at < -365d AND total_spent > 800",
    "tags IN ('gift', 'newsletter') AND last_order_at >= -30d",
    "average_order_value > 300 OR order_total_max > 390",
)


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def seed(
    owner_url: str, customers: int, orders: int, tenant: str = TENANT
) -> dict[str, float]:
    timings: dict[str, float] = {}
    connection = await asyncpg.connect(plain(owner_url))
    try:
        began = time.perf_counter()
        await connection.execute(
            """
            INSERT INTO orders (tenant_id, order_id, customer_id, currency, total, placed_at,
                                items, refunds)
            SELECT $1, 'o' || g,
                   md5('c' || floor(power(random(), 1.6) * $2)::bigint)::uuid,
                   'USD', round((5 + random() * 400)::numeric, 2),
                   now() - (random() * 730) * interval '1 day', '[]', '[]'
            FROM generate_series(1, $3) AS g
            """,
            tenant,
            customers,
            orders,
        )
        timings["orders"] = time.perf_counter() - began
        began = time.perf_counter()
        await connection.execute(
            """
            INSERT INTO customer_facts (
                tenant_id, customer_id, source_updated_at, registered_at, tags,
                accepts_marketing, date_of_birth, country, city, order_count, total_spent,
                stats_currency, average_order_value, order_total_max, order_total_min,
                first_order_at, last_order_at, last_order_month)
            SELECT $1, c.id, now(), now() - ((i % 1000) * interval '1 day'),
                   CASE i % 5 WHEN 0 THEN ARRAY[]::text[] WHEN 1 THEN ARRAY['gift']
                        WHEN 2 THEN ARRAY['vip'] WHEN 3 THEN ARRAY['newsletter']
                        ELSE ARRAY['wholesale', 'gift'] END,
                   i % 3 = 0, date '1950-01-01' + (i % 20000),
                   (ARRAY['IN', 'US', 'GB', 'DE'])[1 + i % 4],
                   (ARRAY['Pune', 'Mumbai', 'Delhi', 'Austin', 'London', 'Berlin'])[1 + i % 6],
                   coalesce(o.n, 0), coalesce(o.spent, 0), o.currency,
                   round(o.spent / nullif(o.n, 0), 2), o.biggest, o.smallest, o.first_at,
                   o.last_at, extract(month FROM o.last_at)
            FROM generate_series(0, $2 - 1) AS i
            CROSS JOIN LATERAL (SELECT md5('c' || i)::uuid AS id) AS c
            LEFT JOIN (
                SELECT customer_id, count(*) AS n, sum(total) AS spent, min(currency) AS currency,
                       max(total) AS biggest, min(total) AS smallest,
                       min(placed_at) AS first_at, max(placed_at) AS last_at
                FROM orders WHERE tenant_id = $1 GROUP BY customer_id
            ) AS o ON o.customer_id = c.id
            """,
            tenant,
            customers,
        )
        timings["facts"] = time.perf_counter() - began
        began = time.perf_counter()
        await connection.execute("ANALYZE")
        timings["analyze"] = time.perf_counter() - began
    finally:
        await connection.close()
    return {k: round(v, 2) for k, v in timings.items()}


async def measure(app_url: str, phases: set[str]) -> dict[str, Any]:
    settings = SegmentationSettings()
    engine = create_engine(app_url, pool_size=4, application_name="bench-segmentation")
    sessions = create_session_factory(engine)

    def uow() -> SegmentationUnitOfWork:
        return SegmentationUnitOfWork(
            sessions, messaging, tenant_id=TENANT, source="segmentation", settings=settings
        )

    custom = [
        SegmentDefinition(f"custom-{n}", f"Custom {n}", parse(rule))
        for n, rule in enumerate(CUSTOM_RULES)
    ]
    try:
        now = utcnow()
        segments = [*definitions(settings.builtin_thresholds(), []), *custom]
        if "recompute" not in phases:
            segments = []
        # First population: no membership yet, so every member enters and is announced.
        began = time.perf_counter()
        async with uow() as unit:
            first = await recompute_segments(unit, segments, now)
            evaluated = time.perf_counter() - began
            await unit.commit()
        first_seconds = time.perf_counter() - began
        first_split = {
            "statement_seconds": round(evaluated, 2),
            "outbox_and_commit_seconds": round(first_seconds - evaluated, 2),
        }
        print(
            f"first population of {len(segments)} segments: {first_seconds:.1f} s "
            f"({evaluated:.1f} s recompute, {first_seconds - evaluated:.1f} s outbox + commit)",
            flush=True,
        )
        # The full recompute a sweep or a rule change runs: memberships in place, a day later,
        # so what a day of time changes moves (and is announced).
        began = time.perf_counter()
        async with uow() as unit:
            later = await recompute_segments(unit, segments, now + timedelta(days=1))
            await unit.commit()
        recompute_seconds = time.perf_counter() - began
        moved_later = sum(entered + exited for entered, exited in later.values())
        print(
            f"full recompute of {len(segments)} segments: {recompute_seconds:.1f} s "
            f"({moved_later:,} entries and exits)",
            flush=True,
        )
        per_segment = {
            key: {"members": first[key][0], "moved_a_day_later": sum(later[key])} for key in first
        }

        previews: list[float] = []
        for segment in custom if "preview" in phases else []:
            start = time.perf_counter()
            async with uow() as unit:
                await unit.members.count(segment.rule, now)
            previews.append(time.perf_counter() - start)
        print(f"previews: max {max(previews, default=0):.2f} s", flush=True)

        fit_seconds, fitted = 0.0, None
        if "fit" in phases:
            began = time.perf_counter()
            model, _ = await tenant_model(
                uow(), as_of=now.date(), unit="week", max_age=timedelta(0), now=now
            )
            fit_seconds, fitted = time.perf_counter() - began, model.to_dict()
            print(f"model fit: {fit_seconds:.1f} s on {model.customers:,} buyers", flush=True)

        # Each report as a request would read it (no target: figures for the roadmap).
        report_seconds: dict[str, float] = {}
        reports: dict[str, Callable[[], Awaitable[object]]] = {
            "acquisition": lambda: acquisition_report(uow(), "month", now=now),
            "retention": lambda: retention_report(uow(), churn_days=180, now=now),
            "value": lambda: value_report(uow()),
            "purchase_patterns": lambda: patterns_report(uow()),
        }
        for name, read in reports.items() if "reports" in phases else ():
            began = time.perf_counter()
            await read()
            report_seconds[name] = round(time.perf_counter() - began, 2)
        if report_seconds:
            print(f"reports: {report_seconds}", flush=True)
    finally:
        await engine.dispose()
    return {
        "full_recompute_seconds": round(recompute_seconds, 2),
        "moved_a_day_later": moved_later,
        "first_population_seconds": round(first_seconds, 2),
        "first_population": first_split,
        "segments": len(segments),
        "memberships_written": sum(int(s["members"]) for s in per_segment.values()),
        "per_segment": per_segment,
        "preview_seconds": {
            "max": round(max(previews, default=0), 3),
            "median": round(sorted(previews)[len(previews) // 2], 3) if previews else 0,
        },
        "fit_seconds": round(fit_seconds, 2),
        "model": fitted,
        "report_seconds": report_seconds,
        "phases": sorted(phases),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    superuser = resolve_database_url()
    database = await asyncio.to_thread(
        create_service_database, SERVICE, superuser, "bench_segmentation"
    )
    try:
        seeded = await seed(database.owner_url, args.customers, args.orders)
        print(
            f"seeded {args.customers:,} customers and {args.orders:,} orders: {seeded}", flush=True
        )
        figures = await measure(database.app_url, set(args.phases.split(",")))
    finally:
        if not args.keep_db:
            await asyncio.to_thread(drop_database, superuser, database.name)
    targets = {
        "full_recompute_seconds": 30.0,
        "preview_max_seconds": 2.0,
        "fit_seconds": 60.0,
    }
    measured = {
        "full_recompute_seconds": figures["full_recompute_seconds"],
        "preview_max_seconds": figures["preview_seconds"]["max"],
        "fit_seconds": figures["fit_seconds"],
    }
    return {
        "customers": args.customers,
        "orders": args.orders,
        "seed_seconds": seeded,
        **figures,
        "targets": targets,
        "verdicts": {k: measured[k] <= v for k, v in targets.items()},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--phases",
        default="recompute,preview,fit,reports",
        help="which of recompute,preview,fit,reports to run",
    )
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"{NAME}-{stamp}.json").write_text(text)
    (RESULTS / f"{NAME}-latest.json").write_text(text)
    print(f"\n{NAME}: {result['customers']:,} customers, {result['orders']:,} orders")
    measured = {
        "full_recompute_seconds": "recompute",
        "preview_max_seconds": "preview",
        "fit_seconds": "fit",
    }
    for key, target in result["targets"].items():
        if measured[key] not in result["phases"]:
            continue
        value = (
            result["full_recompute_seconds"]
            if key == "full_recompute_seconds"
            else (
                result["preview_seconds"]["max"]
                if key == "preview_max_seconds"
                else result["fit_seconds"]
            )
        )
        verdict = "OK" if result["verdicts"][key] else "MISS"
        print(f"  {key:<24} {value:>8.2f} s   target <= {target:.0f} s   {verdict}")
    print(
        f"  first population (from no membership): {result['first_population_seconds']:.1f} s, "
        f"{result['memberships_written']:,} memberships announced"
    )
    print(f"  (JSON: bench/results/{NAME}-{stamp}.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
