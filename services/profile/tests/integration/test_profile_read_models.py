"""Segmentation and loyalty events through the real broker keep the profile's mirror fields,
on a merged customer's tombstone too, so that an unmerge restores them current."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_profile.adapters.tables import customers
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.consumers.read_models import LOYALTY_CONSUMER
from patron_shared.events import (
    Contract,
    CustomersUnmerged,
    Envelope,
    MergeCustomers,
    PointsAdjusted,
    PointsEarned,
    PointsRedeemed,
    SegmentEntered,
    SegmentExited,
    TierChanged,
    VipStatusChanged,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import KafkaProbe

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
async def probe(kafka_bootstrap: str) -> AsyncIterator[KafkaProbe]:
    kafka = KafkaProbe(kafka_bootstrap)
    await kafka.start()
    yield kafka
    await kafka.stop()


async def publish(probe: KafkaProbe, tenant: str, *events: Contract) -> list[Envelope]:
    envelopes = [build_envelope(event, tenant_id=tenant, source="tests") for event in events]
    for event, envelope in zip(events, envelopes, strict=True):
        await probe.publish(event.topic, envelope.to_json_bytes(), key=str(envelope.subject))
    return envelopes


async def eventually(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


def entered(customer_id: uuid.UUID, segment: str) -> SegmentEntered:
    return SegmentEntered(
        customer_id=customer_id, segment_key=segment, segment_name=segment, at=NOW
    )


def exited(customer_id: uuid.UUID, segment: str) -> SegmentExited:
    return SegmentExited(customer_id=customer_id, segment_key=segment, segment_name=segment, at=NOW)


def points(customer_id: uuid.UUID, balance: int, change: int) -> PointsAdjusted:
    return PointsAdjusted(
        customer_id=customer_id,
        points=change,
        balance=balance,
        reason="merge",
        actor="loyalty",
        adjusted_at=NOW,
    )


def tier(customer_id: uuid.UUID, key: str) -> TierChanged:
    return TierChanged(customer_id=customer_id, tier=key, direction="upgrade", changed_at=NOW)


def vip(customer_id: uuid.UUID) -> VipStatusChanged:
    return VipStatusChanged(customer_id=customer_id, is_vip=True, reason="spend", changed_at=NOW)


# VIP flag, segments, loyalty points, loyalty tier
Followed = tuple[bool, list[str], int, str | None]


async def becomes(read: Callable[[], Awaitable[Any]], expected: Any) -> Any:
    """What `read` returns once it returns `expected`, or at the deadline."""
    last: list[Any] = []

    async def check() -> bool:
        last[:] = [await read()]
        return bool(last[0] == expected)

    await eventually(check)
    return last[0]


async def stored(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Followed:
    """The row's values, live or not (a tombstone's too)."""
    columns = customers.c
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        row = (
            await uow.session.execute(
                select(
                    columns.is_vip, columns.segments, columns.loyalty_points, columns.loyalty_tier
                ).where(columns.tenant_id == tenant, columns.id == customer_id)
            )
        ).one()
    return (row.is_vip, list(row.segments), row.loyalty_points, row.loyalty_tier)


async def shown(
    client: httpx.AsyncClient, admin: dict[str, str], customer_id: uuid.UUID
) -> Followed | None:
    """What the API shows of them; None while the customer is not live."""
    response = await client.get(f"/api/v1/customers/{customer_id}", headers=admin)
    if response.status_code != 200:
        return None
    body = response.json()
    return (body["is_vip"], body["segments"], body["loyalty_points"], body["loyalty_tier"])


async def handled_by_loyalty_read_model(runtime: ServiceRuntime, envelope: Envelope) -> bool:
    inbox = runtime.messaging.inbox
    async with runtime.engine.connect() as connection:
        found = await connection.scalar(
            select(inbox.c.message_id).where(
                # consumer groups of a test run carry its prefix
                inbox.c.consumer.endswith(LOYALTY_CONSUMER),
                inbox.c.message_id == envelope.id,
            )
        )
    return found is not None


async def test_vip_segments_points_and_tier_follow_the_other_services_events(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    created = await client.post(
        "/api/v1/customers", json={"email": "mirror@example.com"}, headers=admin
    )
    customer_id = uuid.UUID(created.json()["id"])
    joined_loyal = SegmentEntered(
        customer_id=customer_id, segment_key="loyal", segment_name="Loyal", at=NOW
    )
    await publish(
        probe,
        tenant,
        VipStatusChanged(customer_id=customer_id, is_vip=True, reason="spend", changed_at=NOW),
        joined_loyal,
        SegmentEntered(
            customer_id=customer_id, segment_key="at_risk", segment_name="At risk", at=NOW
        ),
        joined_loyal,  # the same membership announced again (a new message): still one entry
        SegmentExited(
            customer_id=customer_id, segment_key="at_risk", segment_name="At risk", at=NOW
        ),
        PointsEarned(
            customer_id=customer_id, points=500, balance=500, reason="order", earned_at=NOW
        ),
        PointsRedeemed(
            customer_id=customer_id,
            points=200,
            balance=300,
            discount="2.00",
            currency="USD",
            redeemed_at=NOW,
        ),
        TierChanged(customer_id=customer_id, tier="Silver", direction="upgrade", changed_at=NOW),
    )

    # two consumers (segment and loyalty events), each at its own pace: wait for both
    mirrored: Followed = (True, ["loyal"], 300, "Silver")
    assert await becomes(lambda: shown(client, admin, customer_id), mirrored) == mirrored
    vips = (await client.get("/api/v1/customers?is_vip=true&segment=loyal", headers=admin)).json()
    assert [c["id"] for c in vips["data"]] == [str(customer_id)]


async def test_events_about_unknown_customers_are_ignored_not_dead_lettered(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    stranger = uuid.uuid4()
    marker = await client.post(
        "/api/v1/customers", json={"email": "after@example.com"}, headers=admin
    )
    marker_id = uuid.UUID(marker.json()["id"])

    await publish(
        probe,
        tenant,
        TierChanged(customer_id=stranger, tier="Gold", direction="upgrade", changed_at=NOW),
        TierChanged(customer_id=marker_id, tier="Gold", direction="upgrade", changed_at=NOW),
    )

    async def marker_applied() -> bool:
        body = (await client.get(f"/api/v1/customers/{marker_id}", headers=admin)).json()
        return bool(body["loyalty_tier"] == "Gold")

    assert await eventually(marker_applied)
    missing = await client.get(f"/api/v1/customers/{stranger}", headers=admin)
    assert missing.status_code == 404


SURVIVOR_VALUES: Followed = (False, ["champions"], 900, "gold")


async def merged_pair(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A survivor (`SURVIVOR_VALUES`) and a customer merged into it that was in `loyal` with
    500 points, and left both at the merge (segmentation and loyalty announce it)."""
    ids = []
    for n in range(2):
        email = f"{uuid.uuid4().hex[:10]}-{n}@example.com"
        created = await client.post("/api/v1/customers", json={"email": email}, headers=admin)
        ids.append(uuid.UUID(created.json()["id"]))
    survivor, secondary = ids
    await publish(
        probe,
        tenant,
        entered(survivor, "champions"),
        points(survivor, 900, 900),
        tier(survivor, "gold"),
        entered(secondary, "loyal"),
        points(secondary, 500, 500),
    )
    assert await becomes(lambda: shown(client, admin, survivor), SURVIVOR_VALUES)
    secondary_values = (False, ["loyal"], 500, None)
    assert await becomes(lambda: shown(client, admin, secondary), secondary_values)

    await publish(probe, tenant, MergeCustomers(customer_id=survivor, secondary_id=secondary))
    assert await becomes(lambda: shown(client, admin, secondary), None) is None
    await publish(probe, tenant, exited(secondary, "loyal"), points(secondary, 0, -500))
    left: Followed = (False, [], 0, None)
    assert await becomes(lambda: stored(runtime, tenant, secondary), left) == left
    return survivor, secondary


async def unmerge(
    probe: KafkaProbe, tenant: str, survivor: uuid.UUID, secondary: uuid.UUID
) -> None:
    event = CustomersUnmerged(
        customer_id=survivor, restored_customer_id=secondary, unmerged_at=datetime.now(UTC)
    )
    await publish(probe, tenant, event)


async def test_events_about_a_merged_customer_before_its_unmerge_show_once_it_is_restored(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    survivor, secondary = await merged_pair(client, admin, tenant, probe, runtime)
    # What segmentation and loyalty announce at the unmerge, here before the profile's own
    await publish(
        probe,
        tenant,
        entered(secondary, "at_risk"),
        vip(secondary),
        points(secondary, 350, 350),
        tier(secondary, "silver"),
    )
    restored: Followed = (True, ["at_risk"], 350, "silver")
    assert await becomes(lambda: stored(runtime, tenant, secondary), restored) == restored
    # kept on the tombstone, out of sight: the survivor's own values and reads are untouched
    assert await shown(client, admin, survivor) == SURVIVOR_VALUES
    found = await client.get("/api/v1/customers?segment=at_risk", headers=admin)
    assert found.json()["data"] == []

    await unmerge(probe, tenant, survivor, secondary)

    assert await becomes(lambda: shown(client, admin, secondary), restored) == restored
    assert await shown(client, admin, survivor) == SURVIVOR_VALUES
    found = await client.get("/api/v1/customers?segment=at_risk&is_vip=true", headers=admin)
    assert [c["id"] for c in found.json()["data"]] == [str(secondary)]


async def test_events_about_a_restored_customer_after_its_unmerge_apply_as_to_any_other(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    survivor, secondary = await merged_pair(client, admin, tenant, probe, runtime)

    await unmerge(probe, tenant, survivor, secondary)
    # back with what the merge left it: no segment, no points
    left: Followed = (False, [], 0, None)
    assert await becomes(lambda: shown(client, admin, secondary), left) == left
    await publish(
        probe,
        tenant,
        entered(secondary, "loyal"),
        vip(secondary),
        points(secondary, 500, 500),
        tier(secondary, "silver"),
    )

    restored: Followed = (True, ["loyal"], 500, "silver")
    assert await becomes(lambda: shown(client, admin, secondary), restored) == restored
    assert await shown(client, admin, survivor) == SURVIVOR_VALUES


async def test_a_deleted_customer_takes_no_more_events(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    created = await client.post(
        "/api/v1/customers", json={"email": f"{uuid.uuid4().hex[:10]}@example.com"}, headers=admin
    )
    customer_id = uuid.UUID(created.json()["id"])
    deleted = await client.delete(f"/api/v1/customers/{customer_id}", headers=admin)
    assert deleted.status_code == 204, deleted.text

    [sent] = await publish(probe, tenant, tier(customer_id, "gold"))

    assert await becomes(lambda: handled_by_loyalty_read_model(runtime, sent), True)
    assert await stored(runtime, tenant, customer_id) == (False, [], 0, None)
