"""The erasure's `dead_letters` participant: the profile records a scrub holding hashes only,
the job runs it once the other services have acknowledged (again later when Kafka fails),
then acknowledges the erasure like any other service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from patron_profile.adapters.dead_letter_scrubs import claim_dead_letter_scrubs
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.dead_letter_job import (
    LEASE,
    OTHER_PARTICIPANTS,
    WAIT_FOR_PARTICIPANTS,
    scrub_dead_letters,
)
from patron_profile.domain.erasure import DEAD_LETTERS_PARTICIPANT, Erasure
from patron_profile.service.dead_letter_scrubs import (
    FINAL_PASS_AFTER,
    RETRY_FIRST,
    DeadLetterScrub,
    run_dead_letter_scrubs,
)
from patron_profile.settings import ProfileSettings
from patron_shared.events import ErasureAcknowledged, build_envelope
from patron_shared.http import ServiceRuntime
from patron_shared.messaging.dead_letter_erasure import (
    ErasedCustomer,
    RecordText,
    key_id,
    value_hash,
)
from patron_shared.testing import (
    ServiceDatabase,
    create_topics,
    delete_topics,
    deliver_record,
    erasure_acknowledgements,
    find_values,
)
from patron_shared.testing.pii import plain_dsn

pytestmark = pytest.mark.integration


@pytest.fixture
async def dead_letter_topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}.orders.dlq"
    await create_topics(kafka_bootstrap, {name: 1})
    yield name
    await delete_topics(kafka_bootstrap, [name])


async def dead_letter_values(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        values: list[bytes] = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            values += [r.value for r in batch.get(tp, []) if r.offset < end]
        return values
    finally:
        await consumer.stop()


async def test_an_erasure_scrubs_the_dead_letters_by_hashes_then_acknowledges(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    runtime: ServiceRuntime,
    tenant: str,
    *,
    service_database: ServiceDatabase,
    kafka_bootstrap: str,
    dead_letter_topic: str,
) -> None:
    marker = uuid.uuid4().hex[:10]
    person = {
        "email": f"dlq-{marker}@example.com",
        "first_name": f"Zelda{marker[:5]}",
        "last_name": f"Quist{marker[5:]}",
    }
    created = await client.post("/api/v1/customers", json=person, headers=admin)
    assert created.status_code == 201, created.text
    customer_id = uuid.UUID(created.json()["id"])
    values = list(person.values())
    theirs = json.dumps({"type": "OrderPlaced", "data": {"email": person["email"]}}).encode()
    someone_elses = json.dumps({"type": "OrderPlaced", "data": {"email": "x@example.com"}}).encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for value in (someone_elses, theirs, someone_elses + b" "):
            await producer.send_and_wait(dead_letter_topic, value, partition=0)
    finally:
        await producer.stop()

    erased = await client.delete(
        f"/api/v1/customers/{customer_id}", params={"mode": "hard"}, headers=admin
    )
    assert erased.status_code == 202, erased.text
    erasure_id = uuid.UUID(erased.json()["erasure_id"])

    # the pending scrub: the id and hashes, no value in the clear anywhere in the database
    connection = await asyncpg.connect(plain_dsn(service_database.owner_url))
    try:
        row = await connection.fetchrow(
            "SELECT * FROM dead_letter_scrubs WHERE erasure_id = $1", erasure_id
        )
    finally:
        await connection.close()
    assert row is not None
    assert row["customer_id"] == customer_id
    assert row["tenant_id"] == tenant
    salt = bytes(row["salt"])
    key = hash_key_of(runtime)
    # the email matches alone; the names only together (others share them)
    assert set(row["value_hashes"]) == {value_hash(person["email"], salt, key)}
    names = (person["first_name"], person["last_name"])
    assert set(row["name_hashes"]) == {value_hash(v, salt, key) for v in names}
    assert set(row["full_name_hashes"]) == {
        value_hash(f"{a} {b}", salt, key) for a, b in (names, names[::-1])
    }
    assert await find_values(service_database.owner_url, values) == []
    status_url = erased.headers["location"]
    pending = (await client.get(status_url, headers=admin)).json()
    assert {s["service"]: s["status"] for s in pending["services"]}[DEAD_LETTERS_PARTICIPANT] == (
        "pending"
    )

    # not due before the other services have acknowledged
    assert await claim(runtime, erasure_id, datetime.now(UTC)) is None
    for service in OTHER_PARTICIPANTS[1:]:
        ack = ErasureAcknowledged(
            customer_id=customer_id,
            erasure_id=erasure_id,
            service=service,
            mode="hard",
            completed_at=datetime.now(UTC),
        )
        envelope = build_envelope(ack, tenant_id=tenant, source=service)
        assert await deliver_record(runtime, envelope) == "processed"

    # Kafka fails: the scrub stays, tried again later
    async def unreachable(customers: Sequence[ErasedCustomer]) -> object:
        assert [c.customer_id for c in customers] == [customer_id]
        raise KafkaConnectionError("broker unreachable")

    async def claim_mine(at: datetime) -> list[DeadLetterScrub]:
        scrub = await claim(runtime, erasure_id, at)
        return [] if scrub is None else [scrub]

    now = datetime.now(UTC)
    with pytest.raises(KafkaConnectionError):
        await run_dead_letter_scrubs(
            claim_mine,
            unreachable,
            lambda t: runtime.unit_of_work(ProfileUnitOfWork, tenant_id=t),
            clock=lambda: now,
        )
    postponed = await scrub_row(service_database, erasure_id)
    assert postponed is not None
    assert postponed["attempts"] == 1
    assert postponed["next_attempt_at"] == now + RETRY_FIRST
    assert "broker unreachable" in postponed["last_error"]
    assert await claim(runtime, erasure_id, now + RETRY_FIRST / 2) is None

    # The next round, when it is due. Another process's round may hold the lock for a
    # moment: this one is then skipped and tried again.
    later = now + RETRY_FIRST
    done: list[DeadLetterScrub] = []
    deadline = asyncio.get_running_loop().time() + 30
    while not done:
        assert asyncio.get_running_loop().time() < deadline, "the scrub ran"
        ran = await scrub_dead_letters(runtime, topics=[dead_letter_topic], clock=lambda: later)
        done = [s for s in ran if s.erasure_id == erasure_id]
        await asyncio.sleep(0.2)
    left = await dead_letter_values(kafka_bootstrap, dead_letter_topic)
    assert sorted(left) == sorted([someone_elses, someone_elses + b" "])
    # the row stays, hashes only, for the final pass an hour later
    first_pass = await scrub_row(service_database, erasure_id)
    assert first_pass is not None
    assert first_pass["acknowledged_at"] == later
    assert first_pass["next_attempt_at"] == later + FINAL_PASS_AFTER
    assert await claim(runtime, erasure_id, later + FINAL_PASS_AFTER / 2) is None

    acks = await erasure_acknowledgements(service_database.owner_url, erasure_id)
    mine = [ack for ack in acks if ack["service"] == DEAD_LETTERS_PARTICIPANT]
    assert len(mine) == 1
    assert mine[0]["customer_id"] == str(customer_id)
    ack = ErasureAcknowledged.model_validate(mine[0])
    envelope = build_envelope(ack, tenant_id=tenant, source="profile")
    assert await deliver_record(runtime, envelope) == "processed"
    status = (await client.get(status_url, headers=admin)).json()
    assert status["status"] == "done"

    # A consumer that lagged dead-letters one more message about the customer: the final
    # pass takes it out, and the scrub (its hashes) is gone.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(dead_letter_topic, theirs, partition=0)
    finally:
        await producer.stop()
    final = later + FINAL_PASS_AFTER
    done = []
    deadline = asyncio.get_running_loop().time() + 30
    while not done:
        assert asyncio.get_running_loop().time() < deadline, "the final pass ran"
        ran = await scrub_dead_letters(runtime, topics=[dead_letter_topic], clock=lambda: final)
        done = [s for s in ran if s.erasure_id == erasure_id]
        await asyncio.sleep(0.2)
    assert done[0].final_pass
    assert await scrub_row(service_database, erasure_id) is None
    left = await dead_letter_values(kafka_bootstrap, dead_letter_topic)
    assert sorted(left) == sorted([someone_elses, someone_elses + b" "])
    acks = await erasure_acknowledgements(service_database.owner_url, erasure_id)
    assert len([a for a in acks if a["service"] == DEAD_LETTERS_PARTICIPANT]) == 1


def hash_key_of(runtime: ServiceRuntime) -> bytes:
    settings = runtime.settings
    assert isinstance(settings, ProfileSettings)
    return settings.erasure_hash_key_bytes


async def claim(
    runtime: ServiceRuntime, erasure_id: uuid.UUID, now: datetime
) -> DeadLetterScrub | None:
    """The scrub of `erasure_id` if it is due at `now` (claimed: leased), else None."""
    claimed = await claim_dead_letter_scrubs(
        runtime.engine,
        now,
        limit=1000,
        lease=LEASE,
        participants=OTHER_PARTICIPANTS,
        wait=WAIT_FOR_PARTICIPANTS,
        hash_keys=[hash_key_of(runtime)],
    )
    found = [s for s in claimed if s.erasure_id == erasure_id]
    return found[0] if found else None


async def scrub_row(database: ServiceDatabase, erasure_id: uuid.UUID) -> asyncpg.Record | None:
    connection = await asyncpg.connect(plain_dsn(database.owner_url))
    try:
        row: asyncpg.Record | None = await connection.fetchrow(
            "SELECT * FROM dead_letter_scrubs WHERE erasure_id = $1", erasure_id
        )
        return row
    finally:
        await connection.close()


async def test_a_scrub_made_before_the_key_changed_is_matched_under_its_own_key(
    runtime: ServiceRuntime, tenant: str, service_database: ServiceDatabase
) -> None:
    old_key, new_key = b"the key before", b"the key now"
    customer_id, erasure_id = uuid.uuid4(), uuid.uuid4()
    requested = datetime(2026, 1, 5, tzinfo=UTC)
    made_before = ErasedCustomer.of(customer_id, ["old@example.com"], key=old_key)
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        await uow.erasures.add(
            Erasure(
                erasure_id=erasure_id,
                customer_id=customer_id,
                mode="anonymize",
                requested_at=requested,
            )
        )
        await uow.dead_letter_scrubs.add(erasure_id, made_before, "anonymize", requested)
        await uow.commit()
    later = requested + WAIT_FOR_PARTICIPANTS + LEASE

    async def claimed(now: datetime, keys: list[bytes]) -> DeadLetterScrub:
        scrubs = await claim_dead_letter_scrubs(
            runtime.engine,
            now,
            limit=1000,
            lease=LEASE,
            participants=OTHER_PARTICIPANTS,
            wait=WAIT_FOR_PARTICIPANTS,
            hash_keys=keys,
        )
        (scrub,) = [s for s in scrubs if s.erasure_id == erasure_id]
        return scrub

    # only the new key configured: the scrub says which key it needs, and is not run
    orphan = await claimed(later, [new_key])
    assert orphan.key_missing == key_id(old_key)
    done = await run_dead_letter_scrubs(
        lambda _: asyncio.sleep(0, [orphan]),
        erase_nothing,
        lambda tenant_id: runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant_id),
        clock=lambda: later,
    )
    assert done == []
    row = await scrub_row(service_database, erasure_id)
    assert row is not None
    assert key_id(old_key) in row["last_error"]
    assert "PATRON_ERASURE_HASH_PREVIOUS_KEYS" in row["last_error"]

    # the old key among the previous ones: matched under it, as when it was made
    scrub = await claimed(row["next_attempt_at"], [new_key, old_key])
    assert scrub.key_missing is None
    assert scrub.customer.key == old_key
    assert scrub.customer.named_in(RecordText.of(None, b'{"email": "OLD@example.com"}'))


async def erase_nothing(customers: Sequence[ErasedCustomer]) -> object:
    raise AssertionError(f"nothing is erased without its key: {customers}")
