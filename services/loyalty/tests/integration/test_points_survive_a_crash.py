"""The points ledger survives a crash: the loyalty service, killed with SIGKILL while it
consumes a stream of order events and started again, ends with every customer's balance
exactly what the customer's orders imply, its books consistent, and nothing posted twice.

The service runs as in production, in a process of its own (this file run with `--serve`:
`create_app` under uvicorn), on a fresh database migrated with its own migrations, its
order consumer on a topic of this test's own and its other consumers on an empty one:
nothing else reads or writes them. Expectations are computed here from the events sent,
with exact arithmetic.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from patron_shared.db import UnitOfWork
from patron_shared.events import (
    Contract,
    Envelope,
    OrderCancelled,
    OrderItem,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    Topic,
    build_envelope,
    dead_letter_topic,
    utcnow,
)
from patron_shared.testing import (
    ChildProcess,
    ServiceDatabase,
    bearer_headers,
    create_service_database,
    create_topics,
    delete_topics,
    drop_database,
    free_port,
    serve_on_topics,
    unique_tenant,
)
from patron_shared.testing.processes import HOST

pytestmark = pytest.mark.integration
UowT = TypeVar("UowT", bound=UnitOfWork)

SERVICE_DIR = Path(__file__).resolve().parents[2]
PARTITIONS = 12
CUSTOMERS = 400
# Up to 4 orders of at most 24.00 of merchandise: under 1,000 points earned per customer,
# so everyone stays Bronze (10 points per unit) and no later order earns at Silver's rate.
MAX_ORDERS = 4
MAX_MERCHANDISE_CENTS = 2_400
BRONZE_RATE = 10
# Fixed: the same stream every run (ids aside), so a failure can be replayed.
SEED = 20_261_204
# The crash comes once this share of the messages is handled (and the rest is not).
KILL_AFTER = 0.3
# The stream is sent in slices with a pause between them: the service consumes while it
# comes, and the crash lands on a service at work, not an idle one.
SLICE = 100
SLICE_PAUSE_S = 0.05
ORDER_CONSUMER = "loyalty.order-points"
READY_TIMEOUT_S = 90.0
DRAIN_TIMEOUT_S = 240.0


# --------------------------------------------------------------------------- the stream


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def customer_stream(rng: random.Random, tenant: str, customer_id: uuid.UUID) -> list[Envelope]:
    """One customer's order events: placed, mostly paid, some refunded (partly, wholly, or
    more than the total), some cancelled before or after payment, some never paid; now and
    then out of order, now and then an envelope sent twice."""
    placed_at = utcnow() - timedelta(days=1)
    events: list[Contract] = []
    for n in range(rng.randint(1, MAX_ORDERS)):
        order_id = f"{customer_id.hex[:12]}-{n}"
        merchandise = rng.randint(100, MAX_MERCHANDISE_CENTS)
        shipping = rng.choice((0, 0, 499, 799))
        tax = rng.randint(0, merchandise // 10)
        total = merchandise + shipping + tax
        events.append(
            OrderPlaced(
                order_id=order_id,
                customer_id=customer_id,
                currency="USD",
                total=_money(total),
                subtotal=_money(merchandise),
                shipping_total=_money(shipping),
                tax_total=_money(tax),
                items=[OrderItem(name="Mug", quantity=1, unit_price=_money(merchandise))],
                placed_at=placed_at,
            )
        )
        paid = OrderPaid(
            order_id=order_id,
            customer_id=customer_id,
            amount=_money(total),
            currency="USD",
            paid_at=placed_at,
        )
        cancelled = OrderCancelled(
            order_id=order_id, customer_id=customer_id, cancelled_at=placed_at
        )
        fate = rng.random()
        if fate < 0.08:  # placed, never paid
            continue
        if fate < 0.12:  # cancelled before payment
            events += [cancelled, paid] if rng.random() < 0.5 else [cancelled]
            continue
        events.append(paid)
        if fate < 0.20:  # cancelled after payment: the points go back
            events.append(cancelled)
        elif fate < 0.45:  # one or two refunds, together at most 1.5 x the total
            for _ in range(rng.choice((1, 1, 2))):
                events.append(
                    OrderRefunded(
                        order_id=order_id,
                        customer_id=customer_id,
                        amount=_money(rng.randint(1, total * 3 // 4)),
                        currency="USD",
                        refunded_at=placed_at,
                    )
                )
    envelopes = [build_envelope(event, tenant_id=tenant, source="orders") for event in events]
    if rng.random() < 0.2:  # out of order: each event is folded in, whatever came first
        rng.shuffle(envelopes)
    if rng.random() < 0.1:  # a redelivery by the producer: the same envelope, later
        envelopes.append(rng.choice(envelopes))
    return envelopes


def interleave(rng: random.Random, streams: Sequence[list[Envelope]]) -> list[Envelope]:
    """All streams as one, mixed at random, each customer's events in its own order."""
    keyed = [
        (position, envelope)
        for stream in streams
        for position, envelope in zip(sorted(rng.random() for _ in stream), stream, strict=True)
    ]
    return [envelope for _, envelope in sorted(keyed, key=lambda pair: pair[0])]


# --------------------------------------------------------------------------- expectations


@dataclass
class ExpectedOrder:
    customer_id: uuid.UUID
    total: Fraction | None = None
    merchandise: Fraction | None = None
    paid: bool = False
    cancelled: bool = False
    refunds: dict[uuid.UUID, Fraction] = field(default_factory=dict)

    @property
    def points(self) -> int:
        """floor(merchandise x (1 - refunded / total) x 10), refunds capped at the total;
        nothing unless placed and paid, nothing once cancelled."""
        if self.cancelled or not self.paid or self.total is None or self.merchandise is None:
            return 0
        refunded = min(sum(self.refunds.values(), Fraction(0)), self.total)
        kept = 1 - refunded / self.total if self.total else Fraction(1)
        return math.floor(self.merchandise * kept * BRONZE_RATE)


def expected_orders(sent: Sequence[Envelope]) -> dict[str, ExpectedOrder]:
    """Each order as the events sent describe it: an envelope id counts once; a refund is
    known by the id of its envelope."""
    orders: dict[str, ExpectedOrder] = {}
    seen: set[uuid.UUID] = set()
    for envelope in sent:
        if envelope.id in seen:
            continue
        seen.add(envelope.id)
        data = envelope.data
        order = orders.setdefault(
            data["order_id"], ExpectedOrder(customer_id=uuid.UUID(data["customer_id"]))
        )
        if envelope.type == "OrderPlaced":
            total = Fraction(data["total"])
            charges = Fraction(data["shipping_total"]) + Fraction(data["tax_total"])
            order.total, order.merchandise = total, max(total - charges, Fraction(0))
        elif envelope.type == "OrderPaid":
            order.paid = True
        elif envelope.type == "OrderCancelled":
            order.cancelled = True
        elif envelope.type == "OrderRefunded":
            order.refunds[envelope.id] = Fraction(data["amount"])
    return orders


# --------------------------------------------------------------------------- the service


def start_service(name: str, env: dict[str, str], logs: Path, topics: Topics) -> Service:
    port = free_port()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve",
        f"--port={port}",
        f"--order-topic={topics.orders}",
        f"--quiet-topic={topics.quiet}",
    ]
    return Service(ChildProcess(name, command, env, logs), port)


@dataclass(frozen=True)
class Service:
    process: ChildProcess
    port: int

    async def wait_ready(self) -> None:
        await self.process.wait_ready(self.port, READY_TIMEOUT_S)


def serve(argv: Sequence[str]) -> None:
    """The service as `uvicorn patron_loyalty.app:create_app --factory` runs it, every one of
    its consumers on the test's topics: the order topic's on the test's order topic, the
    others (customer and identity events) on a topic of the test's that stays empty. The
    stack's history is not this test's business, and would take the CPU it measures."""
    from patron_loyalty.app import create_app  # noqa: PLC0415 - only the served process needs it

    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--order-topic", required=True)
    parser.add_argument("--quiet-topic", required=True)
    args = parser.parse_args(argv)
    serve_on_topics(
        create_app,
        args.port,
        {Topic.ORDER_EVENTS.value: args.order_topic},
        other_topics=args.quiet_topic,
    )


# --------------------------------------------------------------------------- Kafka


@dataclass(frozen=True)
class Topics:
    orders: str
    quiet: str  # read by the service's other consumers, written by no one

    @property
    def all(self) -> list[str]:
        return [self.orders, dead_letter_topic(self.orders), self.quiet]


async def create_run_topics(bootstrap: str, topics: Topics) -> None:
    await create_topics(
        bootstrap, {topics.orders: PARTITIONS, dead_letter_topic(topics.orders): 1, topics.quiet: 1}
    )


async def dead_letter_count(bootstrap: str, topics: Topics) -> int:
    """Records on the order topic's DLQ: what the service gave up on (for failure notes)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(dead_letter_topic(topics.orders), 0)
        ends: dict[TopicPartition, int] = await consumer.end_offsets([partition])
        return ends[partition]
    finally:
        await consumer.stop()


async def publish(producer: AIOKafkaProducer, topic: str, stream: Sequence[Envelope]) -> None:
    """The stream in slices, keyed by customer as order services key it."""
    for start in range(0, len(stream), SLICE):
        sends = [
            await producer.send(topic, envelope.to_json_bytes(), key=envelope.subject.encode())
            for envelope in stream[start : start + SLICE]
            if envelope.subject is not None
        ]
        await asyncio.gather(*sends)
        await asyncio.sleep(SLICE_PAUSE_S)


# --------------------------------------------------------------------------- the database


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Books:
    """The service database read as its owner (row-level security aside), for one tenant."""

    def __init__(self, connection: asyncpg.Connection, tenant: str, consumer: str) -> None:
        self._db, self.tenant, self.consumer = connection, tenant, consumer

    async def handled(self) -> int:
        count = await self._db.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer = $1 AND tenant_id = $2",
            self.consumer,
            self.tenant,
        )
        return int(count)

    async def per_customer(self, sql: str) -> dict[uuid.UUID, int]:
        rows = await self._db.fetch(sql, self.tenant)
        return {row["customer_id"]: int(row["points"]) for row in rows}

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self._db.fetch(sql, self.tenant, *args))


async def wait_until_handled(
    books: Books, service: Service, at_least: int, timeout_s: float
) -> int:
    """Poll the inbox until `at_least` messages are handled; returns the count seen."""
    deadline = time.monotonic() + timeout_s
    handled = await books.handled()
    while handled < at_least:
        service.process.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{handled} of {at_least} handled after {timeout_s} s")
        await asyncio.sleep(0.05)
        handled = await books.handled()
    return handled


async def cards(
    port: int, tenant: str, secret: str, customers: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Each customer's `points_balance` as the API reads it (a caller with loyalty:read)."""
    headers = bearer_headers(tenant, scopes=["loyalty:read"], secret=secret)
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", headers=headers) as client:

        async def card(customer_id: uuid.UUID) -> tuple[uuid.UUID, int]:
            async with limit:
                response = await client.get(f"/api/v1/customers/{customer_id}/loyalty", timeout=30)
            assert response.status_code == 200, (customer_id, response.text)
            return customer_id, int(response.json()["points_balance"])

        return dict(await asyncio.gather(*(card(c) for c in customers)))


# --------------------------------------------------------------------------- the test


def service_env(
    database: ServiceDatabase, bootstrap: str, prefix: str, secret: str
) -> dict[str, str]:
    """The environment of the service: this test's database, broker, consumer groups and
    signing secret; the default program (no LOYALTY_* overrides); no in-process relay (the
    PointsEarned events stay in the outbox: the stack's loyalty topic is not this test's)."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PATRON_", "LOYALTY_"))
    }
    return inherited | {
        "PATRON_ENV": "test",
        "PATRON_DATABASE_URL": database.app_url,
        "PATRON_KAFKA_BOOTSTRAP": bootstrap,
        "PATRON_CONSUMER_GROUP_PREFIX": prefix,
        "PATRON_CONSUMER_OFFSET_RESET": "earliest",
        "PATRON_OUTBOX_RELAY_IN_PROCESS": "false",
        "PATRON_JWT_SECRET": secret,
        "PATRON_LOG_LEVEL": "WARNING",
        "PATRON_LOG_FORMAT": "console",
    }


@contextlib.contextmanager
def services_stopped_at_exit(started: list[Service]) -> Iterator[None]:
    try:
        yield
    finally:
        for service in started:
            service.process.stop()


async def test_every_balance_is_what_the_orders_imply_after_the_service_is_killed_mid_stream(
    superuser_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    run = uuid.uuid4().hex[:10]
    tenant = unique_tenant("crash")
    prefix = f"test.crash.{run}."
    secret = secrets.token_urlsafe(32)
    topics = Topics(orders=f"test.loyalty.orders.{run}", quiet=f"test.loyalty.quiet.{run}")
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]
    stream = interleave(rng, [customer_stream(rng, tenant, c) for c in customers])
    message_ids = {envelope.id for envelope in stream}
    orders = expected_orders(stream)
    expected: dict[uuid.UUID, int] = dict.fromkeys(customers, 0)
    for order in orders.values():
        expected[order.customer_id] += order.points
    assert max(expected.values()) < 1_000  # everyone stays Bronze (see MAX_ORDERS)

    database = await asyncio.to_thread(
        create_service_database, SERVICE_DIR, superuser_url, "test_loyalty_crash"
    )
    started: list[Service] = []
    producer: AIOKafkaProducer | None = None
    sending: asyncio.Task[None] | None = None
    connection: asyncpg.Connection | None = None
    topics_created = False
    try:
        await create_run_topics(kafka_bootstrap, topics)
        topics_created = True
        connection = await asyncpg.connect(_plain(database.owner_url))
        books = Books(connection, tenant, prefix + ORDER_CONSUMER)
        env = service_env(database, kafka_bootstrap, prefix, secret)
        with services_stopped_at_exit(started):
            first = start_service("loyalty-first", env, tmp_path, topics)
            started.append(first)
            await first.wait_ready()
            producer = AIOKafkaProducer(
                bootstrap_servers=kafka_bootstrap, enable_idempotence=True, linger_ms=5
            )
            await producer.start()
            sending = asyncio.create_task(publish(producer, topics.orders, stream))

            # the crash: once some of the messages are handled, and surely not all
            await wait_until_handled(
                books, first, int(len(message_ids) * KILL_AFTER), DRAIN_TIMEOUT_S
            )
            first.process.kill()
            at_kill = await books.handled()
            assert at_kill < len(message_ids), (
                f"all {at_kill} messages were handled before the kill: the test proves nothing"
            )

            second = start_service("loyalty-second", env, tmp_path, topics)
            started.append(second)
            await second.wait_ready()
            await sending
            try:
                await wait_until_handled(books, second, len(message_ids), DRAIN_TIMEOUT_S)
            except TimeoutError as timeout:
                dead = await dead_letter_count(kafka_bootstrap, topics)
                raise AssertionError(
                    f"{timeout}; {dead} dead-lettered; {at_kill} handled at the kill\n"
                    f"{second.process.log_tail()}"
                ) from timeout

            api_balances = await cards(second.port, tenant, secret, customers)
            assert_same("points_balance (API)", api_balances, expected)

        # the books as stored: balance = entries = open lots, for every customer
        balances = await books.per_customer(
            "SELECT customer_id, balance AS points FROM points_accounts WHERE tenant_id = $1"
        )
        entries = await books.per_customer(
            "SELECT customer_id, sum(points) AS points FROM points_entries "
            "WHERE tenant_id = $1 GROUP BY customer_id"
        )
        lots = await books.per_customer(
            "SELECT customer_id, sum(remaining) AS points FROM points_lots "
            "WHERE tenant_id = $1 GROUP BY customer_id"
        )
        assert_same("points_accounts.balance", balances, expected)
        earning = {customer: points for customer, points in expected.items() if points}
        assert_same("sum of points_entries.points", without_zeros(entries), earning)
        assert_same("sum of points_lots.remaining", without_zeros(lots), earning)

        # each order: its entries add up to its worth, and nothing was posted twice
        posted: Counter[str] = Counter()
        earns: Counter[str] = Counter()
        reversals: Counter[str] = Counter()
        for row in await books.fetch(
            "SELECT source_id, kind, count(*) AS n, sum(points) AS points FROM points_entries "
            "WHERE tenant_id = $1 AND source_type = 'order' GROUP BY source_id, kind"
        ):
            posted[row["source_id"]] += int(row["points"])
            if row["kind"] == "earn":
                earns[row["source_id"]] += int(row["n"])
            elif row["kind"] == "reverse":
                reversals[row["source_id"]] += int(row["n"])
        misposted = {
            order_id: (posted[order_id], order.points)
            for order_id, order in orders.items()
            if posted[order_id] != order.points
        }
        assert misposted == {}, "orders whose entries add up wrong: (posted, expected)"
        # an order's worth grows once (when placed and paid are both known), then only shrinks
        assert {order_id: n for order_id, n in earns.items() if n > 1} == {}
        # and one without refund or cancellation is one earn (none when it earns nothing)
        assert {
            order_id: (earns[order_id], reversals[order_id])
            for order_id, order in orders.items()
            if not order.refunds
            and not order.cancelled
            and (earns[order_id], reversals[order_id]) != (1 if order.points else 0, 0)
        } == {}, "orders without refund or cancellation: (earn entries, reverse entries)"
        # each earn announced once, written with it (outbox), none from a rolled-back try
        announced = {
            row["order_id"]: int(row["n"])
            for row in await books.fetch(
                "SELECT payload->'data'->>'order_id' AS order_id, count(*) AS n FROM outbox "
                "WHERE tenant_id = $1 AND message_type = 'PointsEarned' GROUP BY 1"
            )
        }
        assert announced == dict(earns), "PointsEarned events per order != earn entries"
        stored = {
            row["order_id"]: (int(row["credited"]), int(row["unrecovered"]))
            for row in await books.fetch(
                "SELECT order_id, earned - reversed - unrecovered AS credited, unrecovered "
                "FROM points_orders WHERE tenant_id = $1"
            )
        }
        assert stored.keys() == orders.keys()
        assert {o: v for o, v in stored.items() if v != (orders[o].points, 0)} == {}, (
            "points_orders: (earned - reversed - unrecovered, unrecovered)"
        )

        # the inbox: every message sent, each once
        inbox = await books.fetch(
            "SELECT message_id, count(*) AS n FROM inbox WHERE tenant_id = $1 AND consumer = $2 "
            "GROUP BY message_id",
            books.consumer,
        )
        assert {row["message_id"] for row in inbox} == message_ids
        assert [row["message_id"] for row in inbox if row["n"] != 1] == []
    finally:
        if sending is not None and not sending.done():
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        if producer is not None:
            await producer.stop()
        if connection is not None:
            await connection.close()
        await asyncio.to_thread(drop_database, superuser_url, database.name)
        if topics_created:
            await delete_topics(kafka_bootstrap, topics.all)


def without_zeros(points: dict[uuid.UUID, int]) -> dict[uuid.UUID, int]:
    return {customer: n for customer, n in points.items() if n}


def assert_same(what: str, actual: dict[uuid.UUID, int], expected: dict[uuid.UUID, int]) -> None:
    """`actual` is `expected`, or a message naming the customers that differ."""
    wrong = {
        str(customer): (actual.get(customer), expected.get(customer))
        for customer in actual.keys() | expected.keys()
        if actual.get(customer) != expected.get(customer)
    }
    total = (sum(actual.values()), sum(expected.values()))
    assert not wrong, (
        f"{what}: {len(wrong)} customers differ (actual, expected), e.g. "
        f"{dict(list(wrong.items())[:10])}; totals {total}"
    )


if __name__ == "__main__":
    serve(sys.argv[1:])
