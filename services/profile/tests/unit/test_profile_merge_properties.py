"""Properties: a merge gives the primary the union of both customers' holdings, its own
values first, and merging then unmerging gives both back exactly what they held."""

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
from patron_shared.events import CustomersUnmerged, MergeCustomers, OrderPlaced
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
