"""Properties: a merge gives the primary the union of both customers' holdings, its own
values first, and merging then unmerging gives both back exactly what they held; the values
other services own end as their last events about each customer set them, whatever the
order of those events, merges and unmerges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from patron_profile.service.addresses import AddressRules, add_address
from patron_profile.service.customers import ContactRules, create_customer
from patron_profile.service.merges import merge_customers, unmerge_customers
from patron_profile.service.metadata import set_metadata
from patron_profile.service.orders import record_order_event
from patron_profile.service.read_models import (
    mirror_points_balance,
    mirror_segment_entered,
    mirror_segment_exited,
    mirror_tier,
    mirror_vip_status,
)
from patron_shared.events import (
    CustomersUnmerged,
    MergeCustomers,
    OrderPlaced,
    PointsAdjusted,
    SegmentEntered,
    SegmentExited,
    TierChanged,
    VipStatusChanged,
)
from patron_shared.testing import run_without_io

from .merge_fakes import MergeFakeUnitOfWork

T0 = datetime(2025, 1, 1, tzinfo=UTC)

tags = st.lists(st.sampled_from(["vip", "gift", "b2b", "new", "late"]), max_size=4, unique=True)
external_ids = st.dictionaries(
    st.sampled_from(["shopify", "woo", "whatsapp"]), st.sampled_from(["1", "2", "3"]), max_size=3
)
addresses = st.lists(
    st.tuples(st.sampled_from(["billing", "shipping"]), st.sampled_from(["1 A St", "2 B Rd"])),
    max_size=3,
)
metadata = st.dictionaries(st.sampled_from(["store", "size", "club"]), st.integers(0, 3))
order_totals = st.lists(st.decimals(min_value=1, max_value=500, places=2), max_size=3)
# Steps in any order: a merge of the second customer into the first, its unmerge, and the
# events segmentation and loyalty send about either customer (0: the primary, 1: the other).
either = st.sampled_from([0, 1])
segment_keys = st.sampled_from(["loyal", "at_risk"])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("merge")),
        st.tuples(st.just("unmerge")),
        st.tuples(st.just("entered"), either, segment_keys),
        st.tuples(st.just("exited"), either, segment_keys),
        st.tuples(st.just("points"), either, st.integers(0, 5_000)),
        st.tuples(st.just("tier"), either, st.sampled_from(["Bronze", "Silver", "Gold"])),
        st.tuples(st.just("vip"), either, st.booleans()),
    ),
    max_size=14,
)
holdings = st.fixed_dictionaries(
    {
        "tags": tags,
        "external_ids": external_ids,
        "addresses": addresses,
        "metadata": metadata,
        "orders": order_totals,
        "first_name": st.none() | st.sampled_from(["Ada", "Bo"]),
    }
)


def state_of(uow: MergeFakeUnitOfWork, customer_id: uuid.UUID) -> dict[str, Any]:
    customer = uow.customers.rows[customer_id]
    return {
        "live": customer.deleted_at is None,
        "first_name": customer.first_name,
        "tags": customer.tags,
        "external_ids": customer.external_ids,
        "addresses": sorted(
            (str(a.id), a.type, a.address1, a.country, a.is_default)
            for a in uow.addresses.rows.values()
            if a.customer_id == customer_id
        ),
        "metadata": {
            key: entry.value
            for (owner, key), entry in uow.metadata.rows.items()
            if owner == customer_id
        },
        "orders": sorted(
            o.order_id for o in uow.orders.rows.values() if o.customer_id == customer_id
        ),
        "stats": customer.stats,
    }


async def customers_holding(
    uow: MergeFakeUnitOfWork, holdings: tuple[dict[str, Any], ...]
) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    order_number = 0
    for n, holding in enumerate(holdings):
        customer = await create_customer(
            uow,
            {
                "email": f"c{n}@example.com",
                "tags": holding["tags"],
                "external_ids": holding["external_ids"],
                "first_name": holding["first_name"],
            },
            rules=ContactRules(),
        )
        ids.append(customer.id)
        for kind, line in holding["addresses"]:
            values = {"type": kind, "address1": line, "country": "US"}
            await add_address(uow, customer.id, values, rules=AddressRules())
        for key, value in holding["metadata"].items():
            await set_metadata(
                uow, customer.id, key, value=value, module_source="pos", updated_by="clerk"
            )
        for total in holding["orders"]:
            order_number += 1
            await record_order_event(
                uow,
                OrderPlaced(
                    order_id=f"O-{order_number}",
                    customer_id=customer.id,
                    currency="USD",
                    total=Decimal(total),
                    placed_at=T0 + timedelta(hours=order_number),
                ),
            )
    return ids


async def merged(first: dict[str, Any], second: dict[str, Any]) -> None:
    uow = MergeFakeUnitOfWork()
    primary, secondary = await customers_holding(uow, (first, second))
    mine, theirs = state_of(uow, primary), state_of(uow, secondary)

    await merge_customers(uow, MergeCustomers(customer_id=primary, secondary_id=secondary))

    survivor = state_of(uow, primary)
    assert survivor["first_name"] == (mine["first_name"] or theirs["first_name"])
    assert survivor["tags"] == mine["tags"] + [t for t in theirs["tags"] if t not in mine["tags"]]
    assert survivor["external_ids"] == theirs["external_ids"] | mine["external_ids"]
    assert survivor["metadata"] == theirs["metadata"] | mine["metadata"]
    # each place of a type once where both had it; the secondary's own duplicates as they were
    places = [a[1:3] for a in mine["addresses"]]
    gained = [a[1:3] for a in theirs["addresses"] if a[1:3] not in places]
    assert sorted(a[1:3] for a in survivor["addresses"]) == sorted(places + gained)
    assert survivor["orders"] == sorted(mine["orders"] + theirs["orders"])


async def merged_and_unmerged(first: dict[str, Any], second: dict[str, Any]) -> None:
    uow = MergeFakeUnitOfWork()
    ids = await customers_holding(uow, (first, second))
    primary, secondary = ids
    before = {customer_id: state_of(uow, customer_id) for customer_id in ids}

    await merge_customers(uow, MergeCustomers(customer_id=primary, secondary_id=secondary))
    assert not state_of(uow, secondary)["live"]
    await unmerge_customers(
        uow,
        CustomersUnmerged(customer_id=primary, restored_customer_id=secondary, unmerged_at=T0),
    )

    assert {customer_id: state_of(uow, customer_id) for customer_id in ids} == before


def followed_values(uow: MergeFakeUnitOfWork, customer_id: uuid.UUID) -> dict[str, Any]:
    customer = uow.customers.rows[customer_id]
    return {
        "is_vip": customer.is_vip,
        "segments": customer.segments,
        "loyalty_points": customer.loyalty_points,
        "loyalty_tier": customer.loyalty_tier,
    }


async def interleaved(steps: list[tuple[Any, ...]]) -> None:
    uow = MergeFakeUnitOfWork()
    ids = [
        (await create_customer(uow, {"email": f"c{n}@example.com"}, rules=ContactRules())).id
        for n in range(2)
    ]
    primary, secondary = ids
    # What each customer's last events set, whatever happened to it meanwhile.
    expected = [followed_values(uow, customer_id) | {"segments": []} for customer_id in ids]
    merged = False
    for kind, *args in steps:
        if kind == "merge":
            await merge_customers(uow, MergeCustomers(customer_id=primary, secondary_id=secondary))
            merged = True
            continue
        if kind == "unmerge":
            unmerge = CustomersUnmerged(
                customer_id=primary, restored_customer_id=secondary, unmerged_at=T0
            )
            await unmerge_customers(uow, unmerge)
            merged = False
            continue
        who, value = args
        customer_id, values = ids[who], expected[who]
        if kind == "entered":
            entered = SegmentEntered(
                customer_id=customer_id, segment_key=value, segment_name=value, at=T0
            )
            await mirror_segment_entered(uow, entered)
            if value not in values["segments"]:
                values["segments"] = [*values["segments"], value]
        elif kind == "exited":
            exited = SegmentExited(
                customer_id=customer_id, segment_key=value, segment_name=value, at=T0
            )
            await mirror_segment_exited(uow, exited)
            values["segments"] = [s for s in values["segments"] if s != value]
        elif kind == "points":
            adjusted = PointsAdjusted(
                customer_id=customer_id,
                points=1,  # the profile keeps the balance only
                balance=value,
                reason="correction",
                actor="support",
                adjusted_at=T0,
            )
            await mirror_points_balance(uow, adjusted)
            values["loyalty_points"] = value
        elif kind == "tier":
            changed = TierChanged(
                customer_id=customer_id, tier=value, direction="upgrade", changed_at=T0
            )
            await mirror_tier(uow, changed)
            values["loyalty_tier"] = value
        else:
            vip = VipStatusChanged(
                customer_id=customer_id, is_vip=value, reason="test", changed_at=T0
            )
            await mirror_vip_status(uow, vip)
            values["is_vip"] = value

    assert state_of(uow, secondary)["live"] is not merged
    assert [followed_values(uow, customer_id) for customer_id in ids] == expected


@settings(max_examples=300, deadline=None)
@given(steps=steps)
def test_other_services_values_end_as_their_last_events_set_them_whatever_the_merges(
    steps: list[tuple[Any, ...]],
) -> None:
    run_without_io(interleaved(steps))


@settings(max_examples=150, deadline=None)
@given(first=holdings, second=holdings)
def test_a_merge_gives_the_primary_both_holdings_its_own_values_first(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    run_without_io(merged(first, second))


@settings(max_examples=150, deadline=None)
@given(first=holdings, second=holdings)
def test_merging_then_unmerging_restores_both_customers_exactly(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    run_without_io(merged_and_unmerged(first, second))
