"""The segment membership projection on a real database: batches of SegmentEntered /
SegmentExited in any order leave the newest change standing, through the real consumer
(inbox included) and under row-level security."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron_notifications.adapters.campaigns import CampaignsUnitOfWork
from patron_notifications.consumers.segment_members import SEGMENT_MEMBERS_CONSUMER
from patron_notifications.service.campaigns import record_segment_changes
from patron_shared.events import SegmentEntered, SegmentExited, build_envelope
from patron_shared.events.delivery import Delivery
from patron_shared.http import ServiceRuntime
from patron_shared.testing import (
    ServiceDatabase,
    deliver_record,
    inbox_claims,
    row_security_of,
    unique_tenant,
)

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SegmentEvent = SegmentEntered | SegmentExited


def change(
    entered: bool, customer_id: uuid.UUID, seconds: int, segment: str = "vip"
) -> SegmentEvent:
    kind = SegmentEntered if entered else SegmentExited
    return kind(
        customer_id=customer_id,
        segment_key=segment,
        segment_name=segment.upper(),
        at=AT + timedelta(seconds=seconds),
    )


def batch(tenant: str, events: list[SegmentEvent]) -> list[Delivery[SegmentEvent]]:
    return [
        Delivery(build_envelope(event, tenant_id=tenant, source="segmentation"), event)
        for event in events
    ]


async def members(runtime: ServiceRuntime, tenant: str, segment: str) -> dict[uuid.UUID, bool]:
    async with runtime.unit_of_work(CampaignsUnitOfWork, tenant_id=tenant) as uow:
        return await uow.campaigns.members(segment)


async def record(runtime: ServiceRuntime, tenant: str, events: list[SegmentEvent]) -> None:
    uow = runtime.unit_of_work(CampaignsUnitOfWork, tenant_id=tenant)
    await record_segment_changes(uow, batch(tenant, events))


async def test_the_migration_creates_the_campaign_tables_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    secured, _ = await row_security_of(
        service_database, ["segment_members", "campaigns", "campaign_customers"]
    )
    assert secured == {"segment_members": True, "campaigns": True, "campaign_customers": True}


async def test_an_older_event_never_overrides_a_newer_one_within_or_across_batches(
    runtime: ServiceRuntime, tenant: str
) -> None:
    ann, bob, cid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # Ann: entered at 10, a late exit from 5 comes after; Bob: exits at 20 in the same
    # batch as his entry at 10; Cid: only an exit (never a member)
    await record(runtime, tenant, [change(True, ann, 10), change(False, bob, 20)])
    await record(runtime, tenant, [change(False, ann, 5), change(True, bob, 10)])
    await record(runtime, tenant, [change(False, cid, 1), change(True, bob, 15)])

    assert await members(runtime, tenant, "vip") == {ann: True, bob: False, cid: False}
    # another tenant sees nothing of it
    assert await members(runtime, unique_tenant("other"), "vip") == {}


async def test_at_the_same_moment_leaving_wins_whichever_came_first(
    runtime: ServiceRuntime, tenant: str
) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    await record(runtime, tenant, [change(True, ann, 7), change(False, bob, 7)])
    await record(runtime, tenant, [change(False, ann, 7), change(True, bob, 7)])

    assert await members(runtime, tenant, "vip") == {ann: False, bob: False}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_any_order_and_batching_of_the_same_events_ends_in_the_same_memberships(
    runtime: ServiceRuntime, data: st.DataObject
) -> None:
    customers = [uuid.uuid4() for _ in range(3)]
    events = data.draw(
        st.lists(
            st.builds(
                change,
                st.booleans(),
                st.sampled_from(customers),
                st.integers(min_value=0, max_value=6),
                st.sampled_from(["vip", "at_risk"]),
            ),
            min_size=1,
            max_size=12,
        )
    )
    order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=len(order)), max_size=3)))
    batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True) if a < b]
    expected: dict[str, dict[uuid.UUID, bool]] = {"vip": {}, "at_risk": {}}
    for segment, standing in expected.items():
        for customer in customers:
            mine = [e for e in events if e.segment_key == segment and e.customer_id == customer]
            if mine:
                newest = max(e.at for e in mine)
                standing[customer] = all(
                    isinstance(e, SegmentEntered) for e in mine if e.at == newest
                )
    tenant = unique_tenant("seg")

    for part in batches:
        await record(runtime, tenant, part)
    assert {segment: await members(runtime, tenant, segment) for segment in expected} == expected


async def test_the_consumer_records_a_membership_once_however_often_it_is_delivered(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer = uuid.uuid4()
    envelope = build_envelope(change(True, customer, 1), tenant_id=tenant, source="segmentation")
    index = next(
        n for n, c in enumerate(runtime.consumers) if c.name.endswith(SEGMENT_MEMBERS_CONSUMER)
    )
    assert sorted(runtime.consumers[index].handled_types) == ["SegmentEntered", "SegmentExited"]

    first = await deliver_record(runtime, envelope, consumer=index)
    again = await deliver_record(runtime, envelope, consumer=index)

    assert await members(runtime, tenant, "vip") == {customer: True}
    assert await inbox_claims(runtime, envelope.id) == 1
    assert first != "failed"
    assert again != "failed"
