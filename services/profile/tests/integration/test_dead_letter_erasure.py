"""The scrub of dead-letter topics on the real broker (`patron_shared.messaging.
dead_letter_erasure`): an erased customer's records go, every other record stays, once, with
its key, headers and timestamp, and so do records appended while the scrub runs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from patron_shared.messaging.dead_letter_erasure import ErasedCustomer, erase_from_dead_letters
from patron_shared.testing import create_topics, delete_topics, partitions_of

pytestmark = pytest.mark.integration

Seen = tuple[int, bytes | None, bytes | None, tuple[tuple[str, bytes], ...], int]


@pytest.fixture
async def topics(kafka_bootstrap: str) -> AsyncIterator[tuple[str, str]]:
    run = uuid.uuid4().hex[:10]
    names = (f"test-{run}.orders.dlq", f"test-{run}.customers.dlq")
    await create_topics(kafka_bootstrap, {names[0]: 2, names[1]: 1})
    yield names
    await delete_topics(kafka_bootstrap, names)


def dead_letter(data: dict[str, Any], error: str = "ValidationError") -> tuple[bytes, list[Any]]:
    value = json.dumps({"id": str(uuid.uuid4()), "type": "OrderPlaced", "data": data}).encode()
    headers = [("x-dlq-error-type", error.encode()), ("x-dlq-attempts", b"5")]
    return value, headers


async def read_all(bootstrap: str, topic: str) -> list[Seen]:
    """(partition, key, value, headers, timestamp) of every record of `topic`, in order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen: list[Seen] = []
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                seen += [
                    (tp.partition, r.key, r.value, tuple(r.headers), r.timestamp)
                    for r in batch.get(tp, [])
                    if r.offset < ends[tp]
                ]
        return seen
    finally:
        await consumer.stop()


async def test_only_the_erased_customers_dead_letters_go_and_all_others_stay_once(
    kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    orders, customers = topics
    erased, other = uuid.uuid4(), uuid.uuid4()
    email = f"gone-{erased.hex[:8]}@example.com"
    phone = "+14155550188"
    last_name = f"Quist{erased.hex[:6]}"
    person = ErasedCustomer.of(
        erased, [email, phone], names=[("Zelda", last_name)], key=b"test-key"
    )
    about_them: list[tuple[str, int, str | None, tuple[bytes, list[Any]]]] = [
        (orders, 0, str(erased), dead_letter({"total": "1.00"})),  # by key
        (orders, 0, str(other), dead_letter({"customer_id": str(erased)})),  # id in the payload
        (orders, 1, None, dead_letter({"email": email.upper()})),  # by email only
        (customers, 0, None, (b'{"phone": "' + phone.encode() + b'"', [])),  # broken JSON
        # by its names only, together
        (orders, 1, None, dead_letter({"first_name": "ZELDA", "last_name": last_name})),
    ]
    others: list[tuple[str, int, str | None, tuple[bytes, list[Any]]]] = [
        (orders, 0, str(other), dead_letter({"n": 1, "email": "someone@example.com"})),
        (orders, 0, None, dead_letter({"n": 2}, error="KeyError")),
        (orders, 1, str(other), dead_letter({"n": 3, "first_name": "Zelda"})),  # one name
        (customers, 0, None, dead_letter({"n": 5, "last_name": last_name, "first_name": "Ada"})),
        (customers, 0, None, dead_letter({"n": 4})),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        # others before, between and after the records about the customer
        for topic, partition, key, (value, headers) in [
            others[0],
            about_them[0],
            others[1],
            about_them[1],
            about_them[2],
            others[2],
            about_them[3],
            others[3],
            about_them[4],
            others[4],
        ]:
            await producer.send_and_wait(
                topic,
                value,
                key=key.encode() if key else None,
                partition=partition,
                headers=headers,
            )
        before = {topic: await read_all(kafka_bootstrap, topic) for topic in topics}

        appended: list[bytes] = []

        async def append_meanwhile() -> None:
            for n in range(40):
                value, headers = dead_letter({"meanwhile": n})
                await producer.send_and_wait(orders, value, partition=n % 2, headers=headers)
                appended.append(value)
                await asyncio.sleep(0.005)

        writer = asyncio.create_task(append_meanwhile())
        report = await erase_from_dead_letters(kafka_bootstrap, [person], topics=topics)
        await writer
    finally:
        await producer.stop()

    assert report.removed == len(about_them)
    after = {topic: await read_all(kafka_bootstrap, topic) for topic in topics}
    gone = {value for _, _, _, (value, _) in about_them}
    kept_before = Counter(r for topic in topics for r in before[topic] if r[2] not in gone)
    kept_after = Counter(r for topic in topics for r in after[topic] if r[2] not in appended)
    # every other record still there, exactly once, with its partition, key, headers, timestamp
    assert kept_after == kept_before
    assert len(kept_before) == len(others)
    # nothing about the customer: neither its id nor a value
    everything = b"".join(
        (r[1] or b"") + (r[2] or b"") + b"".join(v for _, v in r[3])
        for topic in topics
        for r in after[topic]
    ).lower()
    for trace in (str(erased), email, phone):
        assert trace.encode() not in everything
    # and what was appended during the scrub survived, once each
    meanwhile = Counter(r[2] for r in after[orders] if r[2] in appended)
    assert meanwhile == Counter(appended)


async def test_a_scrub_that_finds_nothing_leaves_the_topics_alone(
    kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    orders, _ = topics
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        value, headers = dead_letter({"n": 1})
        await producer.send_and_wait(orders, value, partition=0, headers=headers)
    finally:
        await producer.stop()
    before = await read_all(kafka_bootstrap, orders)

    report = await erase_from_dead_letters(
        kafka_bootstrap,
        [ErasedCustomer.of(uuid.uuid4(), ["nobody@example.com"], key=b"test-key")],
        topics=topics,
    )

    assert (report.removed, report.appended_again, report.partitions) == (0, 0, 0)
    assert await read_all(kafka_bootstrap, orders) == before
