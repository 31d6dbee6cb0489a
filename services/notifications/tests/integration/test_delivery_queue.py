"""The delivery queue on a real database: queued once per key, claimed by one worker at a
time across tenants, leases that lapse, and attempts recorded."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from patron_notifications.adapters.deliveries import SqlDeliveryRepository, claim_due_deliveries
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.delivery import Delivery, RetryPolicy, idempotency_key
from patron_shared.http import ServiceRuntime
from patron_shared.testing import unique_tenant

pytestmark = pytest.mark.integration


def queued(cause: str, *, at: datetime, template: str = "welcome") -> Delivery:
    customer = uuid.uuid4()
    return Delivery(
        delivery_id=uuid.uuid4(),
        customer_id=customer,
        channel="email",
        category="transactional",
        template_key=template,
        idempotency_key=idempotency_key(cause, template, customer, "email"),
        recipient=f"{customer.hex[:8]}@example.com",
        created_at=at,
        cause=cause,
        subject="Welcome",
        text="Hello",
        headers={"X-Patron-Test": "1"},
    )


async def queue(runtime: ServiceRuntime, tenant: str, *items: Delivery) -> set[uuid.UUID]:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        new = await SqlDeliveryRepository(uow.session, tenant).queue(items)
        await uow.commit()
    return new


async def record(runtime: ServiceRuntime, tenant: str, delivery: Delivery) -> bool:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        recorded = await SqlDeliveryRepository(uow.session, tenant).record_outcome(delivery)
        await uow.commit()
    return recorded


async def test_a_key_queues_one_message_however_often_it_is_queued(
    runtime: ServiceRuntime, tenant: str
) -> None:
    first = queued("event-1", at=datetime.now(UTC))
    again = Delivery(**{**first.__dict__, "delivery_id": uuid.uuid4()})
    assert await queue(runtime, tenant, first) == {first.delivery_id}
    assert await queue(runtime, tenant, again) == set()
    # another tenant's same key is its own message
    other = unique_tenant("other")
    assert await queue(runtime, other, again) == {again.delivery_id}


async def test_workers_claim_due_messages_of_every_tenant_never_the_same_one_twice(
    runtime: ServiceRuntime, tenant: str
) -> None:
    # a moment of this test's own (the queue is shared by every tenant: claims at it also
    # take older messages, which the assertions leave out)
    now = datetime(2100, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 10_000))
    second_tenant = unique_tenant("second")
    mine = [queued(f"c-{n}", at=now - timedelta(seconds=n)) for n in range(30)]
    theirs = [queued(f"c-{n}", at=now - timedelta(seconds=n)) for n in range(10)]
    later = queued("later", at=now + timedelta(minutes=5))
    await queue(runtime, tenant, *mine, later)
    await queue(runtime, second_tenant, *theirs)
    ours = {d.delivery_id for d in mine + theirs}

    # four workers at once, room for all of them (and anything older still queued)
    claims = await asyncio.gather(
        *(claim_due_deliveries(runtime.engine, now, 500, timedelta(minutes=5)) for _ in range(4))
    )
    claimed = [(t, d) for claim in claims for t, d in claim if d.delivery_id in ours]
    ids = [d.delivery_id for _, d in claimed]
    assert len(ids) == len(set(ids)) == 40  # every due one, each by one worker
    assert {t for t, _ in claimed} == {tenant, second_tenant}
    assert all(d.status == "sending" and d.attempts == 1 for _, d in claimed)
    assert all(d.headers == {"X-Patron-Test": "1"} for _, d in claimed)
    assert later.delivery_id not in ids  # not due yet


async def test_a_lapsed_lease_comes_back_and_the_late_worker_outcome_is_refused(
    runtime: ServiceRuntime, tenant: str
) -> None:
    now = datetime(2200, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 10_000))
    message = queued("lease", at=now)
    await queue(runtime, tenant, message)
    [(_, first)] = [
        c
        for c in await claim_due_deliveries(runtime.engine, now, 1_000, timedelta(seconds=30))
        if c[1].delivery_id == message.delivery_id
    ]
    # the first worker died: 31 s later the message is due again, as a second attempt
    later = now + timedelta(seconds=31)
    [(_, second)] = [
        c
        for c in await claim_due_deliveries(runtime.engine, later, 1_000, timedelta(seconds=30))
        if c[1].delivery_id == message.delivery_id
    ]
    assert (first.attempts, second.attempts) == (1, 2)
    first.succeeded("late", later)
    assert not await record(runtime, tenant, first)  # its claim lapsed: not its outcome

    second.failed(
        "421 busy",
        transient=True,
        now=later,
        policy=RetryPolicy(first=timedelta(minutes=1), jitter=0),
    )
    assert await record(runtime, tenant, second)
    assert not [
        c
        for c in await claim_due_deliveries(runtime.engine, later, 1_000, timedelta(seconds=30))
        if c[1].delivery_id == message.delivery_id
    ]
    # the second attempt failed: the wait is the first doubled once
    assert second.next_attempt_at == later + timedelta(minutes=2)
    retry = second.next_attempt_at
    [(_, third)] = [
        c
        for c in await claim_due_deliveries(runtime.engine, retry, 1_000, timedelta(seconds=30))
        if c[1].delivery_id == message.delivery_id
    ]
    assert (third.attempts, third.last_error) == (3, "421 busy")
    third.succeeded("provider-9", retry)
    assert await record(runtime, tenant, third)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        stored = await SqlDeliveryRepository(uow.session, tenant).get(message.delivery_id)
    assert stored is not None
    assert (stored.status, stored.provider_message_id, stored.sent_at) == (
        "sent",
        "provider-9",
        retry,
    )


async def test_transactional_messages_are_claimed_before_marketing_ones_due_earlier(
    runtime: ServiceRuntime, tenant: str
) -> None:
    # a moment of this test's own, far from the others' (they claim what is due by theirs)
    start = datetime(2600, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 100_000))
    campaign = [queued(f"campaign-{n}", at=start + timedelta(seconds=n)) for n in range(3)]
    for message in campaign:
        message.category = "marketing"
    confirmation = queued("order-1", at=start + timedelta(seconds=10))
    await queue(runtime, tenant, *campaign, confirmation)
    ours = {d.delivery_id for d in [*campaign, confirmation]}
    claimed_in_order: list[uuid.UUID] = []
    now = start + timedelta(seconds=20)
    while ours - set(claimed_in_order):
        claimed = await claim_due_deliveries(runtime.engine, now, 1, timedelta(seconds=30))
        assert claimed, "everything of ours is due"
        claimed_in_order += [d.delivery_id for _, d in claimed if d.delivery_id in ours]
    assert claimed_in_order[0] == confirmation.delivery_id
    assert claimed_in_order[1:] == [d.delivery_id for d in campaign], "then in due order"


async def test_a_round_of_outcomes_is_recorded_at_once_except_where_the_claim_lapsed(
    runtime: ServiceRuntime, tenant: str
) -> None:
    start = datetime(2600, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 100_000))
    messages = [queued(f"round-{n}", at=start) for n in range(4)]
    await queue(runtime, tenant, *messages)
    ours = {d.delivery_id for d in messages}
    claimed: list[Delivery] = []
    while len(claimed) < len(messages):
        batch = await claim_due_deliveries(runtime.engine, start, 10, timedelta(seconds=30))
        assert batch, "everything of ours is due"
        claimed += [d for _, d in batch if d.delivery_id in ours]
    sent, failed, lapsed, retried = claimed
    sent.succeeded("provider-1", start)
    failed.failed("550 no such user", transient=False, now=start, policy=RetryPolicy())
    retried.failed("421 try later", transient=True, now=start, policy=RetryPolicy())
    lapsed.succeeded("provider-2", start)
    lapsed.attempts += 1  # another worker claimed it again meanwhile: not ours to record
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        recorded = await SqlDeliveryRepository(uow.session, tenant).record_outcomes(claimed)
        await uow.commit()
    assert recorded == {sent.delivery_id, failed.delivery_id, retried.delivery_id}
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        repository = SqlDeliveryRepository(uow.session, tenant)
        stored = {d.delivery_id: await repository.get(d.delivery_id) for d in claimed}
    assert stored[sent.delivery_id].status == "sent"  # type: ignore[union-attr]
    assert stored[sent.delivery_id].provider_message_id == "provider-1"  # type: ignore[union-attr]
    assert stored[failed.delivery_id].status == "failed"  # type: ignore[union-attr]
    assert stored[retried.delivery_id].status == "queued"  # type: ignore[union-attr]
    assert stored[retried.delivery_id].last_error == "421 try later"  # type: ignore[union-attr]
    assert stored[lapsed.delivery_id].status == "sending"  # type: ignore[union-attr]
