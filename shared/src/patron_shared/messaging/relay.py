"""Outbox relay: publishes committed outbox rows to Kafka in order and marks them sent.

One batch is one transaction: rows are locked `FOR UPDATE SKIP LOCKED` in `seq` order,
sent with the idempotent producer as one record batch per partition (built in `seq` order,
all in flight at once, so a key's messages keep their order on its partition), awaited,
then marked sent. A failure rolls the batch back and it is published again (at-least-once;
consumers dedupe by id). Keys go to the partition the producer's own partitioner gives
them, as if each row were sent alone: record batches only spare the per-message work.

Per-key order across several relay processes is kept by a transaction-scoped advisory lock:
one relay publishes a database's batch at a time and the others stand by (failover without
coordination). SKIP LOCKED keeps a relay from waiting on rows another one holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from prometheus_client import Counter, Gauge
from sqlalchemy import Row, Text, cast, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from patron_shared.db.expressions import is_one_of
from patron_shared.db.tables import MessagingTables
from patron_shared.db.uow import OUTBOX_CHANNEL
from patron_shared.events import CLOUDEVENTS_CONTENT_TYPE, utcnow
from patron_shared.logging import get_logger

PUBLISHED = Counter("patron_outbox_published_total", "Outbox rows published", ["topic"])
UNSENT = Gauge("patron_outbox_unsent", "Outbox rows not yet published (last seen)")
RELAY_ERRORS = Counter("patron_outbox_relay_errors_total", "Failed relay batches")
# Any constant shared by the relays of one database; they all lock the same key.
_RELAY_LOCK_KEY = 0x5A7120
_PURGE_EVERY_S = 300.0
_CACHED_KEYS = 100_000
_CONTENT_TYPE_HEADER = ("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())
log = get_logger("patron.outbox")


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        messaging: MessagingTables,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.1,
        retention: timedelta = timedelta(hours=72),
        inbox_retention: timedelta = timedelta(days=30),
        max_backoff_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            engine, expire_on_commit=False
        )
        self._outbox = messaging.outbox
        self._inbox = messaging.inbox
        self._inbox_retention = inbox_retention
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._retention = retention
        self._max_backoff_s = max_backoff_s
        self._wake = asyncio.Event()
        self._partitions = _KeyPartitions(producer)

    async def publish_pending_batch(self) -> int:
        """Publish up to one batch; returns how many rows were sent (0 when idle or standby)."""
        outbox = self._outbox
        async with self._sessions() as session, session.begin():
            got_lock = await session.scalar(select(func.pg_try_advisory_xact_lock(_RELAY_LOCK_KEY)))
            if not got_lock:
                return 0
            rows = (
                await session.execute(
                    select(
                        outbox.c.seq,
                        outbox.c.topic,
                        outbox.c.message_key,
                        # as text: PostgreSQL's rendering is the message, not parsed and
                        # serialised again here
                        cast(outbox.c.payload, Text).label("payload"),
                        outbox.c.headers,
                    )
                    .where(outbox.c.sent_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self._send(rows)
            await session.execute(
                update(outbox)
                .where(is_one_of(outbox.c.seq, [row.seq for row in rows]))
                .values(sent_at=func.now())
            )
        for row in rows:
            PUBLISHED.labels(row.topic).inc()
        return len(rows)

    async def _send(self, rows: Sequence[Row[Any]]) -> None:
        """Every row sent, in order per partition; returns once Kafka has them all."""
        producer = self._producer
        filling: dict[tuple[str, int], BatchBuilder] = {}
        deliveries: list[asyncio.Future[Any]] = []
        for row in rows:
            key, value = row.message_key.encode(), row.payload.encode()
            headers = [_CONTENT_TYPE_HEADER]
            headers += [(name, text.encode()) for name, text in (row.headers or {}).items()]
            place = (row.topic, await self._partitions.of(row.topic, key))
            batch = filling.get(place)
            if (
                batch is None
                or batch.append(timestamp=None, key=key, value=value, headers=headers) is None
            ):
                if batch is not None:  # full: on its way before the next one for the partition
                    deliveries.append(
                        await producer.send_batch(batch, place[0], partition=place[1])
                    )
                batch = filling[place] = producer.create_batch()
                batch.append(timestamp=None, key=key, value=value, headers=headers)  # room for one
        for (topic, partition), batch in filling.items():
            batch.close()
            deliveries.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*deliveries)

    async def count_unsent(self) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(self._outbox)
                .where(self._outbox.c.sent_at.is_(None))
            )
        UNSENT.set(count or 0)
        return int(count or 0)

    async def purge_sent(self) -> int:
        """Delete outbox rows sent longer ago than the retention (they hold personal data),
        and inbox rows older than the window in which a redelivery can still arrive."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            sent = await session.execute(
                delete(self._outbox).where(self._outbox.c.sent_at < now - self._retention)
            )
            await session.execute(
                delete(self._inbox).where(self._inbox.c.received_at < now - self._inbox_retention)
            )
        return int(getattr(sent, "rowcount", 0) or 0)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set; wakes on NOTIFY from committing units of work."""
        listener = asyncio.create_task(self._listen_for_commits(stop))
        backoff = self._poll_interval_s
        last_purge = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                try:
                    sent = await self.publish_pending_batch()
                    backoff = self._poll_interval_s
                    if loop.time() - last_purge > _PURGE_EVERY_S:
                        await self.purge_sent()
                        await self.count_unsent()
                        last_purge = loop.time()
                except Exception:
                    RELAY_ERRORS.inc()
                    log.exception("outbox batch failed; will retry", backoff_s=backoff)
                    sent = 0
                    await _wait(stop, backoff)
                    backoff = min(backoff * 2, self._max_backoff_s)
                    continue
                if sent < self._batch_size:
                    self._wake.clear()
                    await _wait_any(stop, self._wake, self._poll_interval_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen_for_commits(self, stop: asyncio.Event) -> None:
        # Polling alone is correct; LISTEN only cuts latency. Losing it is not an error.
        while not stop.is_set():
            try:
                async with self._engine.connect() as connection:
                    raw = await connection.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None
                    # No statement runs on this connection, so it never sits idle in a
                    # transaction; asyncpg delivers notifications to the callback.
                    await driver.add_listener(OUTBOX_CHANNEL, self._on_notify)
                    await stop.wait()
                    await driver.remove_listener(OUTBOX_CHANNEL, self._on_notify)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox LISTEN connection lost; polling only for now")
                await _wait(stop, 5.0)

    def _on_notify(self, *_args: Any) -> None:
        self._wake.set()


class _KeyPartitions:
    """The partition `producer.send(key=...)` would pick for a key, remembered: the
    partitioner hashes in pure Python, and a batch holds several events per key."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._partitioner = DefaultPartitioner()
        self._known: dict[str, tuple[frozenset[int], dict[bytes, int]]] = {}

    async def of(self, topic: str, key: bytes) -> int:
        partitions = await self._producer.partitions_for(topic)
        known = self._known.get(topic)
        if known is None or known[0] != partitions or len(known[1]) > _CACHED_KEYS:
            known = self._known[topic] = (frozenset(partitions), {})
        partition = known[1].get(key)
        if partition is None:
            listed = list(partitions)  # as the producer lists them for its partitioner
            partition = known[1][key] = self._partitioner(key, listed, listed)
        return partition


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
