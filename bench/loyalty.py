"""Loyalty benchmark: order events posted to the points ledger per second, and balance reads.

1. A fresh loyalty database (the service's own migrations) and an order topic of this run's
   own (as many partitions as the order topic).
2. `--orders` orders for `--customers` customers (drawn at random), each an OrderPlaced and
   an OrderPaid (the default program earns on payment): 2 x `--orders` order events.
3. The service as in production (uvicorn, one worker; its daily jobs off), its order
   consumer reading the run's topic; its consumer groups are new and start at the end (the
   other consumers skip the shared topics' history). A warm-up order on every partition
   until each is handled, then all the events are published as fast as the producer goes.
   The figure: order events handled per second, from the first event sent to the last
   transaction that handled one (the inbox's times), and the service's CPU.
4. The ledger is checked: every customer's balance is what its orders are worth (computed
   here from the events), and balance = entries = open lots for all of them.
5. Balance reads: `--reads` `GET /api/v1/customers/{id}/loyalty` (the card: balance, tier,
   cash value, points expiring) for random customers, one at a time; p50/p99.
6. Prints the figures and writes JSON to bench/results/loyalty-<UTC time>.json and
   loyalty-latest.json; the database, the topic and the process are removed.

    uv run python bench/loyalty.py [--orders N] [--customers N] [--reads N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench.*` importable
    sys.path.insert(0, str(ROOT))

from bench.latency_figures import summarize  # noqa: E402
from patron_shared.auth import mint_dev_token  # noqa: E402
from patron_shared.events import OrderPaid, OrderPlaced, Topic, build_envelope  # noqa: E402
from patron_shared.settings import DEV_JWT_SECRET  # noqa: E402
from patron_shared.testing import (  # noqa: E402
    ChildProcess,
    create_service_database,
    create_topics,
    delete_topics,
    drop_database,
    free_port,
    partitions_of,
    resolve_database_url,
    resolve_kafka_bootstrap,
    serve_on_topics,
    unique_tenant,
)
from patron_shared.testing.processes import HOST  # noqa: E402

NAME = "loyalty"
SERVICE = ROOT / "services" / "loyalty"
RESULTS = ROOT / "bench" / "results"
TARGET_EVENTS_PER_S = 2_000.0
TARGET_READ_P99_MS = 10.0


def build_events(
    tenant: str, orders: int, customers: list[uuid.UUID], seed: int = 7
) -> tuple[list[tuple[bytes, bytes]], dict[uuid.UUID, int]]:
    """(key, value) records in publication order, and each customer's expected balance.
    Nobody reaches Silver (1,000 points, whose higher rate would apply to later orders):
    the expectation is 10 points per unit, rounded down per order."""
    rng = random.Random(seed)
    expected = dict.fromkeys(customers, 0)
    records: list[tuple[bytes, bytes]] = []
    now = datetime.now(UTC)
    for n in range(orders):
        total = Decimal(rng.randint(100, 4_000)) / 100
        points = int((total * 10).to_integral_value(ROUND_DOWN))
        customer = rng.choice(customers)
        if expected[customer] + points >= 1_000:
            customer = min(expected, key=expected.__getitem__)
            if expected[customer] + points >= 1_000:
                raise ValueError("too many orders for these customers: add customers")
        expected[customer] += points
        order_id = f"bench-{n}"
        key = str(customer).encode()
        for event in (
            OrderPlaced(
                order_id=order_id, customer_id=customer, currency="USD", total=total, placed_at=now
            ),
            OrderPaid(
                order_id=order_id, customer_id=customer, amount=total, currency="USD", paid_at=now
            ),
        ):
            envelope = build_envelope(event, tenant_id=tenant, source="bench-orders")
            records.append((key, envelope.to_json_bytes()))
    return records, expected


async def publish(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=20, compression_type="lz4"
    )
    await producer.start()
    began = time.perf_counter()
    try:
        batch = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*batch)
    finally:
        await producer.stop()
    return time.perf_counter() - began


def serve(args: argparse.Namespace) -> None:
    """The service as `uvicorn patron_loyalty.app:create_app --factory` runs it: its order
    consumer on this run's topic, the others on a topic nobody writes (the shared topics'
    history is not this run's work)."""
    from patron_loyalty.app import create_app  # noqa: PLC0415 - only the server needs it

    serve_on_topics(
        create_app,
        args.port,
        {Topic.ORDER_EVENTS.value: args.order_topic},
        other_topics=args.quiet_topic,
    )


def http_get(port: int, path: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own server
        return response.status, response.read()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    args: argparse.Namespace, owner_dsn: str, app_url: str, logs: Path
) -> dict[str, Any]:
    tenant = unique_tenant("bench-loyalty")
    bootstrap = resolve_kafka_bootstrap()
    customers = [uuid.uuid4() for _ in range(args.customers)]
    records, expected = build_events(tenant, args.orders, customers)
    run_id = uuid.uuid4().hex[:8]
    topic, quiet = f"patron.bench.loyalty.orders.{run_id}", f"patron.bench.loyalty.quiet.{run_id}"
    partitions = len(await partitions_of(bootstrap, Topic.ORDER_EVENTS.value))
    await create_topics(bootstrap, {topic: partitions, quiet: 1})
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_")} | {
        "PATRON_DATABASE_URL": app_url,
        "PATRON_KAFKA_BOOTSTRAP": bootstrap,
        "PATRON_CONSUMER_GROUP_PREFIX": f"bench-loyalty-{uuid.uuid4().hex[:8]}-",
        # new groups start at the end: the other consumers skip the shared topics' history
        "PATRON_CONSUMER_OFFSET_RESET": "latest",
        "PATRON_LOG_LEVEL": "WARNING",
        "LOYALTY_DAILY_JOBS_INTERVAL_SECONDS": "0",
    }
    env |= dict(item.split("=", 1) for item in args.service_env)
    service = ChildProcess(
        "service",
        [
            sys.executable,
            __file__,
            "--serve",
            f"--order-topic={topic}",
            f"--quiet-topic={quiet}",
            f"--port={port}",
        ],
        env,
        logs,
    )
    connection = await asyncpg.connect(owner_dsn)
    try:
        await service.wait_ready(port)
        await warm_up(bootstrap, topic, tenant, partitions, connection, service)
        cpu_before = cpu_seconds(service.pid)
        started = time.time()
        published_s = await publish(bootstrap, topic, records)
        print(f"published {len(records):,} order events in {published_s:.1f} s", flush=True)
        deadline = time.perf_counter() + args.timeout
        handled = 0
        while time.perf_counter() < deadline:
            service.check()
            handled = await connection.fetchval(
                "SELECT count(*) FROM inbox WHERE received_at >= to_timestamp($1)", started
            )
            if handled >= len(records):
                break
            await asyncio.sleep(0.5)
        cpu_used = cpu_seconds(service.pid) - cpu_before
        last = await connection.fetchval(
            "SELECT extract(epoch FROM max(received_at)) FROM inbox "
            "WHERE received_at >= to_timestamp($1)",
            started,
        )
        # from the first event sent to the last one's transaction: publishing included
        span = float(last) - started if last is not None else float("nan")
        balances = {
            row["customer_id"]: row["balance"]
            for row in await connection.fetch("SELECT customer_id, balance FROM points_accounts")
        }
        mismatched = sum(1 for c, points in expected.items() if balances.get(c, 0) != points)
        books = await connection.fetchrow(
            "SELECT (SELECT sum(balance) FROM points_accounts) AS accounts, "
            "(SELECT sum(points) FROM points_entries) AS entries, "
            "(SELECT sum(remaining) FROM points_lots) AS lots"
        )
        token = mint_dev_token(secret=DEV_JWT_SECRET, tenant=tenant, roles=("admin",))
        rng = random.Random(11)
        earning = [c for c, points in expected.items() if points]  # others have no account
        read_ids = [rng.choice(earning) for _ in range(args.reads)]
        for customer in read_ids[:50]:  # warm the connection pools and statement caches
            await asyncio.to_thread(http_get, port, f"/api/v1/customers/{customer}/loyalty", token)
        reads: list[float] = []
        read_errors = 0
        for customer in read_ids:
            began = time.perf_counter()
            status, body = await asyncio.to_thread(
                http_get, port, f"/api/v1/customers/{customer}/loyalty", token
            )
            reads.append(time.perf_counter() - began)
            if status != 200 or json.loads(body)["points_balance"] != expected[customer]:
                read_errors += 1
    finally:
        if args.show_log:
            print(service.log_tail(60))
        service.stop()
        await connection.close()
        await delete_topics(bootstrap, [topic, quiet])
    rate = handled / span if span and span > 0 else 0.0
    return {
        "events": len(records),
        "orders": args.orders,
        "customers": args.customers,
        "partitions": partitions,
        "handled": handled,
        "handling_span_s": round(span, 2),
        "events_per_s": round(rate, 1),
        "service_cpu_cores": round(cpu_used / span, 3) if span else None,
        "customers_with_a_wrong_balance": mismatched,
        "books": {k: int(books[k] or 0) for k in ("accounts", "entries", "lots")},
        "expected_points": sum(expected.values()),
        "balance_reads": summarize(reads),
        "balance_read_errors": read_errors,
    }


async def warm_up(  # noqa: PLR0917 - the run's parts
    bootstrap: str,
    topic: str,
    tenant: str,
    partitions: int,
    connection: asyncpg.Connection,
    service: ChildProcess,
    limit_s: float = 120.0,
) -> None:
    """An order on every partition, until each is handled: the consumers are assigned and
    reading (new groups start at the end, so nothing sent before would count)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    deadline = time.perf_counter() + limit_s
    try:
        while time.perf_counter() < deadline:
            before = await connection.fetchval("SELECT count(*) FROM inbox")
            for partition in range(partitions):
                customer = uuid.uuid4()
                event = OrderPlaced(
                    order_id=f"warm-{uuid.uuid4().hex[:8]}",
                    customer_id=customer,
                    currency="USD",
                    total=Decimal("1.00"),
                    placed_at=datetime.now(UTC),
                )
                envelope = build_envelope(event, tenant_id=tenant, source="bench-warm-up")
                await producer.send_and_wait(
                    topic, envelope.to_json_bytes(), key=str(customer).encode(), partition=partition
                )
            for _ in range(20):
                service.check()
                if await connection.fetchval("SELECT count(*) FROM inbox") >= before + partitions:
                    return
                await asyncio.sleep(0.25)
        raise RuntimeError("the order consumer never read every partition")
    finally:
        await producer.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    superuser = resolve_database_url()
    database = await asyncio.to_thread(create_service_database, SERVICE, superuser, "bench_loyalty")
    try:
        owner_dsn = database.owner_url.replace("postgresql+asyncpg://", "postgresql://")
        with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as logs:
            figures = await measure(args, owner_dsn, database.app_url, Path(logs))
    finally:
        await asyncio.to_thread(drop_database, superuser, database.name)
    books = figures["books"]
    return {
        "benchmark": NAME,
        "measured_at": datetime.now(UTC).isoformat(),
        **figures,
        "targets": {"events_per_s": TARGET_EVENTS_PER_S, "read_p99_ms": TARGET_READ_P99_MS},
        "verdicts": {
            "events_per_s": figures["events_per_s"] >= TARGET_EVENTS_PER_S,
            "read_p99_ms": figures["balance_reads"].get("p99_ms", 1e9) <= TARGET_READ_P99_MS,
            "ledger_exact": figures["customers_with_a_wrong_balance"] == 0
            and books["accounts"] == books["entries"] == books["lots"] == figures["expected_points"]
            and figures["balance_read_errors"] == 0,
        },
        "machine": {"cpus": os.cpu_count()},
    }


def report(result: dict[str, Any], stamp: str) -> None:
    reads = result["balance_reads"]
    verdicts = result["verdicts"]
    print(
        f"\n{NAME}: {result['events']:,} order events ({result['orders']:,} orders, "
        f"{result['customers']:,} customers, {result['partitions']} partitions)"
    )
    print(
        f"  posted {result['handled']:,} in {result['handling_span_s']} s: "
        f"{result['events_per_s']:,.1f} events/s (target >= {TARGET_EVENTS_PER_S:,.0f}) "
        f"{'OK' if verdicts['events_per_s'] else 'MISS'}; "
        f"service {result['service_cpu_cores']} cores"
    )
    print(
        f"  ledger: {result['customers_with_a_wrong_balance']} customers with a wrong balance; "
        f"books {result['books']} vs expected {result['expected_points']:,} "
        f"{'OK' if verdicts['ledger_exact'] else 'WRONG'}"
    )
    print(
        f"  balance read p50 {reads.get('p50_ms')} ms p99 {reads.get('p99_ms')} ms "
        f"max {reads.get('max_ms')} ms (target p99 <= {TARGET_READ_P99_MS:.0f} ms) "
        f"{'OK' if verdicts['read_p99_ms'] else 'MISS'}"
    )
    print(f"  (JSON: bench/results/{NAME}-{stamp}.json)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=30_000, help="orders (2 events each)")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--service-env", action="append", default=[], metavar="KEY=VALUE", help="repeatable"
    )
    parser.add_argument("--show-log", action="store_true", help="print the service's log tail")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--order-topic", help=argparse.SUPPRESS)
    parser.add_argument("--quiet-topic", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    result = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"{NAME}-{stamp}.json").write_text(text)
    (RESULTS / f"{NAME}-latest.json").write_text(text)
    report(result, stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
