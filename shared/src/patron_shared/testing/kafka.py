"""Reading and writing real Kafka topics from tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import IllegalStateError
from aiokafka.structs import TopicPartition
from faststream.kafka import KafkaBroker


async def create_topics(
    bootstrap: str,
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Topics of a run's own (name -> partitions), with per-topic configs if given."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, count, 1, topic_configs=dict((configs or {}).get(name, {})))
                for name, count in partitions.items()
            ]
        )
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(list(names))
    finally:
        await admin.close()


async def partitions_of(bootstrap: str, topic: str) -> set[int]:
    """The topic's partitions (waiting for its metadata, as a producer does)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return set(await producer.partitions_for(topic))
    finally:
        await producer.stop()


async def wait_for_assignment(broker: KafkaBroker, timeout_s: float = 60.0) -> None:
    """Until every subscriber of `broker` owns partitions (its group has settled) and knows
    its position in each."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        consumers = [
            client
            for sub in broker.subscribers
            for client in (getattr(sub, "consumer_subgroup", None) or [sub.consumer])  # type: ignore[attr-defined]
        ]
        if consumers and all(c is not None and c.assignment() for c in consumers):
            # An assigned partition may still be looking up where to start; with "latest"
            # a record published before that lookup ends would be skipped.
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0.1)):
                    for consumer in consumers:
                        for partition in consumer.assignment():
                            await consumer.position(partition)
                return
            except IllegalStateError:
                pass  # a rebalance took the partition meanwhile: wait for the new owners
        await asyncio.sleep(0.1)
    raise TimeoutError("consumers got no partition assignment in time")


def unique_tenant(prefix: str = "t") -> str:
    """A fresh tenant per test so runs never see each other's data."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class KafkaProbe:
    """Publishes raw records and waits for matching records on a topic.

    `start()` remembers each partition's end offset so `wait_for` only sees what came after.
    """

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
        self._started = False

    async def start(self) -> None:
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._producer.stop()

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        await self._producer.send_and_wait(
            str(topic),
            value,
            key=key.encode() if key else None,
            headers=[(k, v.encode()) for k, v in (headers or {}).items()],
        )

    async def end_offsets(self, topic: str) -> dict[TopicPartition, int]:
        topic = str(topic)  # an enum member would hash by its name, not its value
        # The producer's partitions_for waits for metadata; a consumer's cache may be empty.
        partitions = [TopicPartition(topic, p) for p in await self._producer.partitions_for(topic)]
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
            return offsets
        finally:
            await consumer.stop()

    async def collect(
        self,
        topic: str,
        since: dict[TopicPartition, int],
        *,
        until: Callable[[list[Any]], bool],
        timeout_s: float = 30.0,
    ) -> list[Any]:
        """Records on `topic` after `since`, read until `until(records)` holds or time runs out."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
        await consumer.start()
        records: list[Any] = []
        try:
            consumer.assign(list(since))
            for partition, offset in since.items():
                consumer.seek(partition, offset)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            while not until(records) and loop.time() < deadline:
                batch = await consumer.getmany(timeout_ms=200)
                for partition_records in batch.values():
                    records.extend(partition_records)
            return records
        finally:
            await consumer.stop()
