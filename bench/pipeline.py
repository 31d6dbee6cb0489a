"""Pipeline benchmark: OrderPlaced events/s through the profile consumer vs raw aiokafka.

Pushes N OrderPlaced envelopes (for K existing customers) to a fresh topic, then measures
in one run:
- the raw aiokafka consume rate of those same records (the ceiling: no decoding, no DB);
- the profile order consumer's rate: envelope validation, inbox claim, order insert,
  statistics update and outbox-free commit in PostgreSQL, offset commit after the DB commit.

Needs the local infrastructure (`uv run patron stack up --infra`, or `make bench`). Prints the
figures and writes JSON to bench/results/pipeline-<UTC time>.json and pipeline-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition
from sqlalchemy import func, select

from patron_profile.adapters.tables import messaging, orders
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.consumers.orders import build_order_consumer
from patron_profile.service.customers import ContactRules, create_customer
from patron_profile.settings import ProfileSettings
from patron_shared.events import OrderItem, OrderPlaced, build_envelope
from patron_shared.http import ServiceRuntime, create_service_app
from patron_shared.testing import (
    ServiceDatabase,
    create_service_database,
    drop_database,
    resolve_database_url,
    resolve_kafka_bootstrap,
    unique_tenant,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def delete_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


async def make_customers(runtime: ServiceRuntime, tenant: str, count: int) -> list[uuid.UUID]:
    ids = []
    for n in range(count):
        uow = runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant)
        customer = await create_customer(
            uow, {"email": f"bench{n}@example.com"}, rules=ContactRules()
        )
        ids.append(customer.id)
    return ids


async def publish_orders(
    bootstrap: str, topic: str, tenant: str, customers: list[uuid.UUID], events: int
) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        sends = []
        for n in range(events):
            customer_id = customers[n % len(customers)]
            envelope = build_envelope(
                OrderPlaced(
                    order_id=f"BENCH-{n}",
                    customer_id=customer_id,
                    currency="USD",
                    total=Decimal("42.50"),
                    items=[
                        OrderItem(
                            sku="SKU-1", name="Thing", quantity=1, unit_price=Decimal("42.50")
                        )
                    ],
                    placed_at=datetime.now(UTC),
                ),
                tenant_id=tenant,
                source="bench",
            )
            sends.append(
                await producer.send(topic, envelope.to_json_bytes(), key=str(customer_id).encode())
            )
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw_consume_seconds(bootstrap: str, topic: str, partitions: int, events: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=2000
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        seen = 0
        started = time.perf_counter()
        while seen < events:
            batch = await consumer.getmany(timeout_ms=1000)
            seen += sum(len(records) for records in batch.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def profile_consume_seconds(
    settings: ProfileSettings, topic: str, tenant: str, events: int, timeout_s: float
) -> float:
    runtime = ServiceRuntime.create("profile", settings, messaging)
    consumer = build_order_consumer(runtime)
    consumer.topics = [topic]  # the production consumer, pointed at this run's topic
    app = create_service_app(runtime, title="bench", consumers=[consumer])
    counted = select(func.count()).select_from(orders).where(orders.c.tenant_id == tenant)
    started = time.perf_counter()
    async with app.router.lifespan_context(app):
        started = time.perf_counter()
        while True:
            async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
                done = await uow.session.scalar(counted) or 0
            if done >= events:
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"profile consumer handled {done}/{events} in {timeout_s}s")
            await asyncio.sleep(0.05)


async def run(
    database: ServiceDatabase, events: int, customers: int, partitions: int, timeout_s: float
) -> dict[str, Any]:
    bootstrap = resolve_kafka_bootstrap()
    topic = f"patron.bench.order.events.{uuid.uuid4().hex[:8]}"
    tenant = unique_tenant("bench")
    settings = ProfileSettings(
        database_url=database.app_url,
        kafka_bootstrap=bootstrap,
        log_level="WARNING",
        consumer_group_prefix=f"bench-{uuid.uuid4().hex[:8]}-",
        consumer_offset_reset="earliest",
    )
    await create_topic(bootstrap, topic, partitions)
    try:
        setup = ServiceRuntime.create("profile-bench-setup", settings, messaging)
        ids = await make_customers(setup, tenant, customers)
        await setup.engine.dispose()
        produce_s = await publish_orders(bootstrap, topic, tenant, ids, events)
        raw_s = await raw_consume_seconds(bootstrap, topic, partitions, events)
        profile_s = await profile_consume_seconds(settings, topic, tenant, events, timeout_s)
    finally:
        await delete_topic(bootstrap, topic)
    raw_rate, profile_rate = events / raw_s, events / profile_s
    return {
        "benchmark": "pipeline",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "events": events,
        "customers": customers,
        "partitions": partitions,
        "produce_events_per_s": round(events / produce_s, 1),
        "raw_aiokafka_events_per_s": round(raw_rate, 1),
        "profile_consumer_events_per_s": round(profile_rate, 1),
        "profile_to_raw_ratio": round(profile_rate / raw_rate, 4),
        "profile_consumer_seconds": round(profile_s, 3),
    }


def _cpus() -> int:
    import os  # noqa: PLC0415

    return os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    superuser = resolve_database_url()
    # A fresh database migrated like production's; made and dropped outside the event loop.
    database = create_service_database(ROOT / "services" / "profile", superuser, "bench_profile")
    try:
        result = asyncio.run(
            run(database, args.events, args.customers, args.partitions, args.timeout)
        )
    finally:
        drop_database(superuser, database.name)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2) + "\n"
    (RESULTS / f"pipeline-{stamp}.json").write_text(text)
    (RESULTS / "pipeline-latest.json").write_text(text)
    print(
        f"pipeline: {result['events']} OrderPlaced events, {result['partitions']} partitions\n"
        f"  raw aiokafka consume : {result['raw_aiokafka_events_per_s']:>10,.1f} events/s\n"
        f"  profile consumer     : {result['profile_consumer_events_per_s']:>10,.1f} events/s\n"
        f"  ratio profile / raw  : {result['profile_to_raw_ratio']:.4f}\n"
        f"  (JSON: bench/results/pipeline-{stamp}.json)"
    )


if __name__ == "__main__":
    main()
