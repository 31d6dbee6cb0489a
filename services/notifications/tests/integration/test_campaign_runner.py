"""Campaign runs on a real database: audiences queued in chunks with exact counts,
schedules kept, pace spread, cancel mid-way, two runners at once, a crash resumed, and
the pace of materialization itself.

Messages are queued at a far-future moment of each test's own (the Messenger's clock), so
no delivery worker sends them while the test looks at them."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from patron_notifications.adapters.campaigns import CampaignsUnitOfWork, list_due_campaigns
from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.tables import contacts
from patron_notifications.domain.campaign import Campaign, SegmentChange
from patron_notifications.domain.delivery import Delivery, idempotency_key
from patron_notifications.service.campaign_runner import RunnerRound, run_due_campaigns
from patron_notifications.service.campaigns import (
    NewCampaign,
    create_campaign,
    queue_campaign_chunk,
)
from patron_notifications.service.messages import (
    MessageRequest,
    MessagingUnitOfWork,
    Messenger,
    QueuedMessages,
)
from patron_notifications.settings import NotificationsSettings
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration
SALE = {
    "sale": {
        "name": "Winter Sale",
        "discount": "30%",
        "code": "WINTER30",
        "ends_at": "2026-12-31T23:59:00Z",
        "url": "https://shop.example.com/sale",
    }
}


def far_future() -> datetime:
    return datetime(2600, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 100_000))


@dataclass
class World:
    runtime: ServiceRuntime
    tenant: str
    settings: NotificationsSettings
    now: datetime

    def uow(self) -> CampaignsUnitOfWork:
        return self.runtime.unit_of_work(CampaignsUnitOfWork, tenant_id=self.tenant)

    def messenger(self) -> Messenger:
        return Messenger(
            self.settings.messaging_defaults(), self.settings.unsubscribe_url, now=lambda: self.now
        )

    async def contacts(
        self, count: int, *, consent: bool = True, email: bool = True
    ) -> list[uuid.UUID]:
        ids = [uuid.uuid4() for _ in range(count)]
        rows = [
            {
                "tenant_id": self.tenant,
                "customer_id": customer_id,
                "email": f"c-{customer_id.hex[:12]}@patron-tests.example" if email else None,
                "first_name": f"Customer{n}",
                "accepts_marketing": consent,
                "source_updated_at": datetime(2026, 1, 1, tzinfo=UTC),
            }
            for n, customer_id in enumerate(ids)
        ]
        async with self.uow() as uow:
            for start in range(0, len(rows), 5000):
                await uow.session.execute(insert(contacts), rows[start : start + 5000])
            await uow.commit()
        return ids

    async def join(
        self, segment: str, customer_ids: Sequence[uuid.UUID], *, member: bool = True
    ) -> None:
        changes = [
            SegmentChange(segment, customer_id, member, datetime(2026, 11, 1, tzinfo=UTC))
            for customer_id in customer_ids
        ]
        async with self.uow() as uow:
            for start in range(0, len(changes), 5000):
                await uow.campaigns.record_changes(changes[start : start + 5000])
            await uow.commit()

    async def campaign(self, **fields: Any) -> Campaign:
        request: dict[str, Any] = {"name": "Winter sale", "template": "flash_sale"}
        request |= {"channel": "email", "send_now": True, "variables": SALE} | fields
        view, created = await create_campaign(self.uow(), NewCampaign(**request), actor="tests")
        assert created
        return view.campaign

    async def run(self, *, chunk_size: int = 1000, now: datetime | None = None) -> RunnerRound:
        """Runner rounds (this tenant's campaigns only) until none has chunks to go."""
        total = RunnerRound()
        while True:
            round_ = await run_due_campaigns(
                self.list_due,
                lambda _t: self.uow(),
                self.messenger(),
                lambda: now or self.now,
                chunk_size=chunk_size,
            )
            total = RunnerRound(
                total.campaigns + round_.campaigns,
                total.chunks + round_.chunks,
                total.customers + round_.customers,
                total.queued + round_.queued,
                total.finished + round_.finished,
            )
            if not round_.more:
                return total

    async def list_due(self, at: datetime, limit: int) -> list[tuple[str, uuid.UUID]]:
        # campaigns other tests left due are not this test's to run
        found = await list_due_campaigns(self.runtime.engine, at, 100_000)
        return [(t, c) for t, c in found if t == self.tenant][:limit]

    async def rows(self, campaign_id: uuid.UUID) -> list[Any]:
        async with self.uow() as uow:
            query = select(deliveries).where(deliveries.c.campaign_id == campaign_id)
            return list((await uow.session.execute(query)).all())

    async def stored(self, campaign_id: uuid.UUID) -> Campaign:
        async with self.uow() as uow:
            found = await uow.campaigns.get(campaign_id)
        assert found is not None
        return found


@pytest.fixture
def world(runtime: ServiceRuntime, tenant: str, service_settings: NotificationsSettings) -> World:
    return World(runtime, tenant, service_settings, far_future())


async def test_a_segment_campaign_with_mixed_consent_counts_every_member_exactly_once(
    world: World, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    opted_in = await world.contacts(12)
    no_consent = await world.contacts(9, consent=False)
    no_email = await world.contacts(5, email=False)
    capped = await world.contacts(4)
    unknown = [uuid.uuid4() for _ in range(3)]  # in the segment, not yet seen as customers
    gone = await world.contacts(2)  # left the segment before the campaign
    await world.join("vip", [*opted_in, *no_consent, *no_email, *capped, *unknown, *gone])
    await world.join("vip", gone, member=False)
    await world.join("at_risk", await world.contacts(3))  # another segment
    # three marketing messages in the cap's window already: a fourth would pass the cap
    earlier = [
        Delivery(
            delivery_id=uuid.uuid4(),
            customer_id=customer_id,
            channel="email",
            category="marketing",
            template_key="win_back",
            idempotency_key=idempotency_key(f"earlier-{n}", "win_back", customer_id, "email"),
            recipient="x@patron-tests.example",
            created_at=world.now - timedelta(days=1, minutes=n),
            cause=f"earlier-{n}",
            status="sent",
        )
        for customer_id in capped
        for n in range(3)
    ]
    async with world.uow() as uow:
        await uow.deliveries.queue(earlier)
        await uow.commit()

    created = await world.campaign(segment_id="vip")
    assert created.audience_size == 33
    ran = await world.run(chunk_size=7)

    assert (ran.customers, ran.queued, ran.finished) == (33, 12, 1)
    assert ran.chunks == 5  # four full chunks and a short one
    body = (await client.get(f"/api/v1/campaigns/{created.campaign_id}", headers=admin)).json()
    assert body["status"] == "sent"
    assert body["counts"] == {
        "audience": 33,
        "targeted": 33,
        "waiting": 3,  # the unknown: until their profile arrives
        "queued": 12,
        "sending": 0,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "skipped": 18,
        "skipped_by_reason": {"frequency_cap": 4, "no_address": 5, "no_marketing_consent": 9},
    }
    rows = await world.rows(created.campaign_id)
    assert len(rows) == 33
    by_customer = {row.customer_id: row for row in rows}
    assert set(by_customer) == {*opted_in, *no_consent, *no_email, *capped, *unknown}
    assert {by_customer[c].status for c in opted_in} == {"queued"}
    for customer_id in opted_in:
        row = by_customer[customer_id]
        assert row.cause == f"campaign:{created.campaign_id}"
        assert row.category == "marketing"
        assert "WINTER30" in row.text_body
        assert row.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert row.headers["List-Unsubscribe"].startswith("<http")


async def test_a_list_campaign_reaches_each_listed_customer_once_and_records_the_unknown(
    world: World, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    known = await world.contacts(5)
    stranger = uuid.uuid4()
    response = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "VIP preview",
            "template": "flash_sale",
            "channel": "email",
            "customer_ids": [str(c) for c in [*known, stranger, known[0], known[1]]],
            "send_now": True,
            "variables": SALE,
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    campaign_id = uuid.UUID(response.json()["id"])
    assert response.json()["counts"]["audience"] == 6

    await world.run(chunk_size=4)

    rows = await world.rows(campaign_id)
    assert sorted((r.customer_id, r.status) for r in rows) == sorted(
        [(c, "queued") for c in known] + [(stranger, "waiting")]
    )
    counts = (await client.get(f"/api/v1/campaigns/{campaign_id}", headers=admin)).json()["counts"]
    assert (counts["audience"], counts["queued"], counts["waiting"]) == (6, 5, 1)


async def test_a_scheduled_campaign_waits_for_its_time(world: World) -> None:
    listed = await world.contacts(3)
    start = utcnow() + timedelta(hours=1)
    campaign = await world.campaign(customer_ids=listed, send_now=None, scheduled_at=start)

    early = await world.run(now=start - timedelta(seconds=1))
    assert early.chunks == 0
    assert (await world.stored(campaign.campaign_id)).status == "scheduled"
    assert await world.rows(campaign.campaign_id) == []

    on_time = await world.run(now=start)
    assert (on_time.customers, on_time.finished) == (3, 1)
    stored = await world.stored(campaign.campaign_id)
    assert (stored.status, stored.started_at, stored.sent_at) == ("sent", start, start)
    assert len(await world.rows(campaign.campaign_id)) == 3


async def test_a_paced_campaign_spreads_its_messages_at_its_rate_in_customer_order(
    world: World,
) -> None:
    members = await world.contacts(20)
    await world.join("paced", members)
    campaign = await world.campaign(segment_id="paced", throttle_per_second=4)

    await world.run(chunk_size=6)

    rows = sorted(await world.rows(campaign.campaign_id), key=lambda r: r.customer_id)
    started = (await world.stored(campaign.campaign_id)).started_at
    assert started == world.now
    assert [r.customer_id for r in rows] == sorted(members)
    assert [r.next_attempt_at for r in rows] == [
        world.now + timedelta(seconds=n / 4) for n in range(20)
    ]


async def test_cancel_mid_way_skips_what_is_queued_and_nothing_more_is_queued(
    world: World, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    members = await world.contacts(30)
    await world.join("big", members)
    campaign = await world.campaign(segment_id="big", throttle_per_second=1)
    first = await queue_campaign_chunk(
        world.uow(), campaign.campaign_id, world.messenger(), now=world.now, chunk_size=10
    )
    assert (first.state, first.customers, first.queued) == ("more", 10, 10)

    url = f"/api/v1/campaigns/{campaign.campaign_id}"
    cancelled = await client.post(f"{url}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    after = await world.run(chunk_size=10)

    assert after.chunks == 0
    body = (await client.get(url, headers=admin)).json()
    assert body["status"] == "cancelled"
    assert body["cancelled_by"] == "dev-user"
    assert body["counts"]["targeted"] == 10
    assert (body["counts"]["queued"], body["counts"]["skipped"]) == (0, 10)
    assert body["counts"]["skipped_by_reason"] == {"campaign_cancelled": 10}
    rows = await world.rows(campaign.campaign_id)
    assert {(r.status, r.skipped_reason, r.next_attempt_at) for r in rows} == {
        ("skipped", "campaign_cancelled", None)
    }
    again = await client.post(f"{url}/cancel", headers=admin)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


async def test_cancelling_a_completed_campaign_is_a_conflict(
    world: World, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # a customer without an address: skipped, nothing left to send
    campaign = await world.campaign(customer_ids=await world.contacts(1, email=False))
    await world.run()
    url = f"/api/v1/campaigns/{campaign.campaign_id}"
    assert (await client.get(url, headers=admin)).json()["status"] == "completed"

    response = await client.post(f"{url}/cancel", headers=admin)

    assert response.status_code == 409
    assert (await client.get(url, headers=admin)).json()["status"] == "completed"


async def test_two_runners_at_once_queue_each_customer_exactly_once(world: World) -> None:
    members = await world.contacts(150)
    await world.join("shared", members)
    campaign = await world.campaign(segment_id="shared")
    chunks: list[int] = []

    async def runner() -> None:
        while True:
            outcome = await queue_campaign_chunk(
                world.uow(), campaign.campaign_id, world.messenger(), now=world.now, chunk_size=7
            )
            if outcome.state == "finished":
                chunks.append(outcome.customers)
                return
            if outcome.state == "not_due":  # the other one holds it, or it is done
                if (await world.stored(campaign.campaign_id)).status == "sent":
                    return
                await asyncio.sleep(0.001)
                continue
            chunks.append(outcome.customers)

    await asyncio.gather(runner(), runner())

    rows = await world.rows(campaign.campaign_id)
    assert len(rows) == 150
    assert sorted(r.customer_id for r in rows) == sorted(members)
    assert sum(chunks) == 150
    stored = await world.stored(campaign.campaign_id)
    assert (stored.status, stored.targeted, stored.audience_size) == ("sent", 150, 150)


@dataclass(frozen=True)
class CrashingMessenger(Messenger):
    """Fails the `crash_on`-th chunk it is given, as a process dying mid-chunk would."""

    calls: list[int] | None = None
    crash_on: int = 3

    async def queue(
        self, uow: MessagingUnitOfWork, requests: Sequence[MessageRequest]
    ) -> QueuedMessages:
        queued = await super().queue(uow, requests)
        assert self.calls is not None
        self.calls.append(len(requests))
        if len(self.calls) == self.crash_on:
            raise ConnectionError("the process died")
        return queued


async def test_a_run_that_crashed_mid_chunk_resumes_after_the_last_chunk_committed(
    world: World,
) -> None:
    members = await world.contacts(25)
    await world.join("crash", members)
    campaign = await world.campaign(segment_id="crash")
    base = world.messenger()
    crashing = CrashingMessenger(base.defaults, base.unsubscribe_links, base.now, calls=[])

    async def run_until_it_dies() -> None:
        for _ in range(10):
            await queue_campaign_chunk(
                world.uow(), campaign.campaign_id, crashing, now=world.now, chunk_size=5
            )

    with pytest.raises(ConnectionError):
        await run_until_it_dies()
    halfway = await world.stored(campaign.campaign_id)
    assert (halfway.status, halfway.targeted, halfway.cursor) == ("sending", 10, sorted(members)[9])
    assert len(await world.rows(campaign.campaign_id)) == 10

    await world.run(chunk_size=5)

    rows = await world.rows(campaign.campaign_id)
    assert sorted(r.customer_id for r in rows) == sorted(members)
    done = await world.stored(campaign.campaign_id)
    assert (done.status, done.targeted) == ("sent", 25)


async def test_a_large_audience_is_queued_at_thousands_of_customers_a_second(
    world: World,
) -> None:
    members = await world.contacts(6000)
    await world.join("large", members)
    campaign = await world.campaign(segment_id="large")

    started = time.perf_counter()
    ran = await world.run(chunk_size=1000)
    elapsed = time.perf_counter() - started

    assert (ran.customers, ran.queued) == (6000, 6000)
    rate = 6000 / elapsed
    print(f"materialized 6000 customers in {elapsed:.2f}s: {rate:.0f}/s")
    assert rate > 500  # ~2,000/s on a developer machine; the bound leaves room for a busy one
    async with world.uow() as uow:
        counts = await uow.campaigns.delivery_counts([campaign.campaign_id])
    assert counts[campaign.campaign_id] == {("queued", None): 6000}
