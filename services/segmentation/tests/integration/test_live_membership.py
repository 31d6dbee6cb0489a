"""Live segment membership on a real database: events, rule changes and the sweep."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_segmentation.adapters.tables import messaging, segment_memberships
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.domain.membership import SegmentDefinition, definitions
from patron_segmentation.domain.rules import parse
from patron_segmentation.service.membership import (
    recompute_segments,
    sweep_time_relative_segments,
)
from patron_segmentation.sweeper import sweep_all_tenants
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

from .test_segments_api import customer

pytestmark = pytest.mark.integration


async def members(runtime: ServiceRuntime, tenant: str, key: str) -> set[uuid.UUID]:
    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(segment_memberships.c.customer_id).where(
                segment_memberships.c.segment_key == key
            )
        )
        return {customer_id for (customer_id,) in rows}


async def announced(runtime: ServiceRuntime, tenant: str, *types: str) -> list[dict[str, Any]]:
    outbox = messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.payload)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_type.in_(types))
            .order_by(outbox.c.seq)
        )
        return [row.payload for row in rows]


async def test_the_order_that_makes_a_customer_vip_announces_it(
    runtime: ServiceRuntime, tenant: str
) -> None:
    big = await customer(runtime, tenant, tags=[], spent=["60000"], days_ago=3)
    small = await customer(runtime, tenant, tags=[], spent=["10"], days_ago=3)

    assert await members(runtime, tenant, "vip") == {big}
    [vip] = await announced(runtime, tenant, "VipStatusChanged")
    assert (vip["subject"], vip["data"]["is_vip"]) == (str(big), True)
    entered = await announced(runtime, tenant, "SegmentEntered")
    assert {(e["data"]["customer_id"], e["data"]["segment_key"]) for e in entered} >= {
        (str(big), "vip"),
        (str(big), "high_value"),
        (str(small), "new"),
    }


async def test_a_new_changed_or_deleted_rule_moves_its_members_at_once(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    headers = bearer_headers(tenant, "marketing")
    gifter = await customer(runtime, tenant, tags=["gift"], spent=["50"])
    spender = await customer(runtime, tenant, tags=[], spent=["5000"])

    created = (
        await client.post(
            "/api/v1/segments",
            json={"name": "Gifters", "rule": "tags CONTAINS 'gift'"},
            headers=headers,
        )
    ).json()
    key = created["id"]
    assert await members(runtime, tenant, key) == {gifter}
    await client.put(
        f"/api/v1/segments/{key}",
        json={"name": "Spenders", "rule": "total_spent > 1000"},
        headers=headers,
    )
    assert await members(runtime, tenant, key) == {spender}
    assert (await client.delete(f"/api/v1/segments/{key}", headers=headers)).status_code == 204
    assert await members(runtime, tenant, key) == set()

    mine = [
        (e["type"], e["data"]["customer_id"])
        for e in await announced(runtime, tenant, "SegmentEntered", "SegmentExited")
        if e["data"]["segment_key"] == key
    ]
    assert mine == [
        ("SegmentEntered", str(gifter)),
        ("SegmentEntered", str(spender)),
        ("SegmentExited", str(gifter)),
        ("SegmentExited", str(spender)),
    ]


async def test_recomputing_in_sql_finds_nothing_the_live_updates_missed(
    runtime: ServiceRuntime, tenant: str
) -> None:
    for spent, days in ((["5"], 3), (["5", "6"], 200), (["60000"], 40), ([], 0), (["1"] * 6, 100)):
        await customer(runtime, tenant, tags=["x"] if days > 50 else [], spent=spent, days_ago=days)

    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        segments = definitions(uow.builtin_thresholds, await uow.segments.all())
        drift = await uow.memberships.recompute({s.key: s.rule for s in segments}, utcnow())

    assert set(drift) == {s.key for s in segments}
    assert all(moved == ([], []) for moved in drift.values()), drift
    assert await members(runtime, tenant, "at_risk")


async def test_one_recompute_repairs_every_segment_it_is_given_and_announces_each_move(
    runtime: ServiceRuntime, tenant: str
) -> None:
    gifter = await customer(runtime, tenant, tags=["gift"], spent=["30"], days_ago=5)
    spender = await customer(runtime, tenant, tags=[], spent=["900", "800"], days_ago=5)
    rules = {"gifts": parse('tags CONTAINS "gift"'), "big": parse("total_spent > 1000")}
    now = utcnow()
    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        # drifted: the spender wrongly in "gifts", and the gifter in a segment not recomputed
        for key, who in (("gifts", spender), ("other", gifter)):
            await uow.memberships.enter([(who, key)], now)
        moved = await recompute_segments(
            uow, [SegmentDefinition(key, key.title(), rule) for key, rule in rules.items()], now
        )
        await uow.commit()

    assert moved == {"gifts": (1, 1), "big": (1, 0)}
    assert await members(runtime, tenant, "gifts") == {gifter}
    assert await members(runtime, tenant, "big") == {spender}
    assert await members(runtime, tenant, "other") == {gifter}  # not among those recomputed
    moves = {
        (e["type"], e["data"]["segment_key"], e["subject"])
        for e in await announced(runtime, tenant, "SegmentEntered", "SegmentExited")
        if e["data"]["segment_key"] in rules
    }
    assert moves == {
        ("SegmentEntered", "gifts", str(gifter)),
        ("SegmentExited", "gifts", str(spender)),
        ("SegmentEntered", "big", str(spender)),
    }


async def test_the_sweep_moves_customers_that_time_alone_moved(
    runtime: ServiceRuntime, tenant: str
) -> None:
    quiet = await customer(runtime, tenant, tags=[], spent=["1"] * 5, days_ago=85)
    assert quiet not in await members(runtime, tenant, "at_risk")

    moved = await sweep_time_relative_segments(
        runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant),
        utcnow() + timedelta(days=10),
    )

    assert moved["at_risk"] == (1, 0)
    assert quiet in await members(runtime, tenant, "at_risk")
    exited = await announced(runtime, tenant, "SegmentEntered")
    assert any(
        e["data"]["segment_key"] == "at_risk" and e["data"]["customer_id"] == str(quiet)
        for e in exited
    )


async def test_the_periodic_sweep_walks_every_tenant_and_mends_what_drifted(
    runtime: ServiceRuntime, tenant: str
) -> None:
    lapsed = await customer(runtime, tenant, tags=[], spent=["1"] * 5, days_ago=120)
    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            segment_memberships.delete().where(segment_memberships.c.customer_id == lapsed)
        )
        await uow.commit()
    assert await members(runtime, tenant, "at_risk") == set()

    moved = await sweep_all_tenants(runtime)

    assert moved >= 1
    assert lapsed in await members(runtime, tenant, "at_risk")
