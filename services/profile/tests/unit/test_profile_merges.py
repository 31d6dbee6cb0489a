"""Merging and unmerging customers (use cases on fakes)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from patron_profile.service.addresses import AddressRules, add_address
from patron_profile.service.consents import ConsentRequest, record_consent
from patron_profile.service.customers import (
    ContactRules,
    create_customer,
    update_customer,
    view_customer,
)
from patron_profile.service.merges import merge_customers, unmerge_customers
from patron_profile.service.metadata import set_metadata
from patron_profile.service.orders import record_order_event
from patron_shared.errors import Conflict, NotFound
from patron_shared.events import (
    AddressChanged,
    ConsentChanged,
    CustomersMerged,
    CustomersUnmerged,
    CustomerUpdated,
    MergeCustomers,
    OrderPlaced,
    TagsChanged,
)

from .merge_fakes import MergeFakeUnitOfWork

RULES = ContactRules()
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@pytest.fixture
def uow() -> MergeFakeUnitOfWork:
    return MergeFakeUnitOfWork()


async def customer(uow: MergeFakeUnitOfWork, **values: Any) -> uuid.UUID:
    values.setdefault("email", f"{uuid.uuid4().hex[:10]}@example.com")
    created = await create_customer(uow, values, rules=RULES)
    return created.id


async def place(
    uow: MergeFakeUnitOfWork, customer_id: uuid.UUID, order_id: str, total: str
) -> None:
    await record_order_event(
        uow,
        OrderPlaced(
            order_id=order_id,
            customer_id=customer_id,
            currency="USD",
            total=Decimal(total),
            placed_at=NOW - timedelta(days=len(order_id)),
        ),
    )


def merge(primary: uuid.UUID, secondary: uuid.UUID, **extra: Any) -> MergeCustomers:
    return MergeCustomers(customer_id=primary, secondary_id=secondary, **extra)


def unmerge(survivor: uuid.UUID, restored: uuid.UUID) -> CustomersUnmerged:
    return CustomersUnmerged(
        customer_id=survivor, restored_customer_id=restored, unmerged_at=NOW, unmerged_by="ops"
    )


async def test_the_primary_gains_what_it_lacks_and_keeps_what_it_has(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary = await customer(uow, first_name="Jane", tags=["vip"], external_ids={"shopify": "S-1"})
    secondary = await customer(
        uow,
        first_name="Janet",
        last_name="Doe",
        phone="+14155550132",
        date_of_birth=date(1990, 5, 1),
        tags=["vip", "wholesale"],
        external_ids={"shopify": "S-2", "woo": "W-9"},
    )
    uow.published.clear()

    record = await merge_customers(uow, merge(primary, secondary), clock=clock)

    survivor = uow.customers.rows[primary]
    assert (survivor.first_name, survivor.last_name) == ("Jane", "Doe")
    assert survivor.phone == "+14155550132"
    assert survivor.date_of_birth == date(1990, 5, 1)
    assert survivor.tags == ["vip", "wholesale"]
    assert survivor.external_ids == {"shopify": "S-1", "woo": "W-9"}
    assert record is not None
    assert record.filled_fields == {
        "phone": "+14155550132",
        "last_name": "Doe",
        "date_of_birth": date(1990, 5, 1),
    }
    assert (record.added_tags, record.added_external_ids) == (["wholesale"], {"woo": "W-9"})


async def test_the_secondary_becomes_a_tombstone_naming_the_survivor(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary, secondary = await customer(uow), await customer(uow)

    await merge_customers(uow, merge(primary, secondary), clock=clock)

    tombstone = uow.customers.rows[secondary]
    assert (tombstone.merged_into, tombstone.deleted_at) == (primary, NOW)
    with pytest.raises(NotFound) as read:
        await view_customer(uow, secondary, include=set())
    assert read.value.extensions == {"merged_into": str(primary)}
    with pytest.raises(Conflict) as write:
        await update_customer(uow, secondary, {"first_name": "X"}, rules=RULES)
    assert write.value.extensions == {"merged_into": str(primary)}


async def test_a_merge_announces_customers_merged_with_the_commands_lineage(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary = await customer(uow)
    secondary = await customer(uow, first_name="Ada", tags=["gift"])
    suggestion = uuid.uuid4()
    uow.published.clear()

    record = await merge_customers(
        uow,
        merge(
            primary,
            secondary,
            requested_by="u-7",
            rule="email",
            score=0.97,
            suggestion_id=suggestion,
        ),
        clock=clock,
    )

    merged = [e for e in uow.published if isinstance(e, CustomersMerged)]
    assert record is not None
    assert [e.model_dump() for e in merged] == [
        {
            "customer_id": primary,
            "merged_customer_id": secondary,
            "merged_at": NOW,
            "merged_by": "u-7",
            "merge_id": record.merge_id,
            "rule": "email",
            "score": 0.97,
            "suggestion_id": suggestion,
        }
    ]
    [updated] = [e for e in uow.published if isinstance(e, CustomerUpdated)]
    assert (updated.customer_id, updated.changed_fields) == (primary, ["first_name", "tags"])
    assert [type(e) for e in uow.published if isinstance(e, TagsChanged)] == [TagsChanged]


async def test_addresses_notes_and_orders_move_and_statistics_count_each_order_once(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary, secondary = await customer(uow), await customer(uow)
    await place(uow, primary, "P-1", "10.00")
    await place(uow, secondary, "S-11", "25.00")
    await place(uow, secondary, "S-222", "5.00")
    address = await add_address(
        uow,
        secondary,
        {"type": "shipping", "address1": "1 Main St", "country": "US"},
        rules=AddressRules(),
    )
    note_id = uuid.uuid4()
    uow.merges.note_owners[note_id] = secondary
    uow.published.clear()

    record = await merge_customers(uow, merge(primary, secondary), clock=clock)

    assert record is not None
    stats = uow.customers.rows[primary].stats
    assert (stats.total_orders, stats.total_spent) == (3, Decimal("40.00"))
    assert uow.customers.rows[secondary].stats.total_orders == 0
    assert record.moved_order_ids == ["S-11", "S-222"]
    assert record.moved_note_ids == [note_id]
    assert uow.merges.note_owners[note_id] == primary
    moved = uow.addresses.rows[address.id]
    assert (moved.customer_id, moved.is_default) == (primary, True)
    created = [e for e in uow.published if isinstance(e, AddressChanged) and e.change == "created"]
    assert [(e.customer_id, e.address_id) for e in created] == [(primary, address.id)]


async def test_an_address_the_primary_has_already_stays_with_the_tombstone(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary, secondary = await customer(uow), await customer(uow)
    rules = AddressRules()
    street = {"address1": "1 Main St", "city": "Austin", "country": "US"}
    kept = await add_address(uow, primary, {"type": "shipping", **street}, rules=rules)
    # the same place, typed otherwise: one address
    same = {"address1": "1 MAIN ST", "city": "austin", "country": "us"}
    twin = await add_address(uow, secondary, {"type": "shipping", **same}, rules=rules)
    billing = await add_address(uow, secondary, {"type": "billing", **street}, rules=rules)

    record = await merge_customers(uow, merge(primary, secondary), clock=clock)

    assert record is not None
    assert [m.address_id for m in record.moved_addresses] == [billing.id]
    owners = {a.id: a.customer_id for a in uow.addresses.rows.values()}
    assert owners == {kept.id: primary, billing.id: primary, twin.id: secondary}

    await unmerge_customers(uow, unmerge(primary, secondary), clock=clock)

    owners = {a.id: a.customer_id for a in uow.addresses.rows.values()}
    assert owners == {kept.id: primary, billing.id: secondary, twin.id: secondary}
    assert uow.addresses.rows[twin.id].is_default


async def test_metadata_of_keys_the_primary_lacks_is_copied_and_an_unmerge_deletes_it(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary, secondary = await customer(uow), await customer(uow)
    for customer_id, entries in (
        (primary, {"store": "SF-01"}),
        (secondary, {"store": "PDX-02", "size": "M", "club": True}),
    ):
        for key, value in entries.items():
            await set_metadata(
                uow, customer_id, key, value=value, module_source="pos", updated_by="clerk"
            )

    record = await merge_customers(uow, merge(primary, secondary), clock=clock)

    assert record is not None
    survivor = {e.key: e for e in await uow.metadata.list_for_customer(primary)}
    assert {key: e.value for key, e in survivor.items()} == {
        "store": "SF-01",
        "size": "M",
        "club": True,
    }
    assert survivor["size"].module_source == "pos"
    assert survivor["size"].updated_by == f"merge:{record.merge_id}"
    # rewritten since the merge: the survivor's own now
    await set_metadata(uow, primary, "club", value=False, module_source="pos", updated_by="clerk")

    await unmerge_customers(uow, unmerge(primary, secondary), clock=clock)

    def values(entries: list[Any]) -> dict[str, Any]:
        return {e.key: e.value for e in entries}

    assert values(await uow.metadata.list_for_customer(primary)) == {
        "store": "SF-01",
        "club": False,
    }
    assert values(await uow.metadata.list_for_customer(secondary)) == {
        "store": "PDX-02",
        "size": "M",
        "club": True,
    }


async def test_the_newest_consent_decision_per_purpose_wins(uow: MergeFakeUnitOfWork) -> None:
    primary, secondary = await customer(uow), await customer(uow)
    earlier, later = NOW - timedelta(days=2), NOW - timedelta(days=1)
    await record_consent(
        uow,
        primary,
        ConsentRequest("email_marketing", False, "web", occurred_at=earlier),
        recorded_by=None,
    )
    await record_consent(
        uow,
        secondary,
        ConsentRequest("email_marketing", True, "shop", occurred_at=later),
        recorded_by=None,
    )
    await record_consent(
        uow,
        primary,
        ConsentRequest("sms_marketing", True, "web", occurred_at=later),
        recorded_by=None,
    )
    await record_consent(
        uow,
        secondary,
        ConsentRequest("sms_marketing", False, "shop", occurred_at=earlier),
        recorded_by=None,
    )
    uow.published.clear()

    record = await merge_customers(uow, merge(primary, secondary), clock=clock)

    assert record is not None
    assert [m.purpose for m in record.consent_changes] == ["email_marketing"]
    email = uow.consents.state[(primary, "email_marketing")]
    assert (email.granted, email.source, email.occurred_at) == (True, "shop", later)
    assert uow.consents.state[(primary, "sms_marketing")].granted is True
    assert uow.customers.rows[primary].accepts_marketing is True
    changed = [e for e in uow.published if isinstance(e, ConsentChanged)]
    assert [(e.channel, e.granted) for e in changed] == [("email", True)]


async def test_the_same_merge_twice_merges_once(uow: MergeFakeUnitOfWork) -> None:
    primary, secondary = await customer(uow), await customer(uow, tags=["a"])
    await merge_customers(uow, merge(primary, secondary), clock=clock)
    uow.published.clear()

    again = await merge_customers(uow, merge(primary, secondary), clock=clock)

    assert again is None
    assert uow.published == []
    assert len(uow.merges.records) == 1


@pytest.mark.parametrize("case", ["itself", "unknown primary", "unknown secondary", "deleted"])
async def test_a_merge_that_cannot_apply_changes_nothing_and_does_not_fail(
    uow: MergeFakeUnitOfWork, case: str
) -> None:
    primary, secondary = await customer(uow), await customer(uow)
    if case == "deleted":
        uow.customers.rows[secondary].deleted_at = NOW
    command = {
        "itself": merge(primary, primary),
        "unknown primary": merge(uuid.uuid4(), secondary),
        "unknown secondary": merge(primary, uuid.uuid4()),
        "deleted": merge(primary, secondary),
    }[case]
    before = {k: (v.tags, v.deleted_at, v.merged_into) for k, v in uow.customers.rows.items()}
    uow.published.clear()

    assert await merge_customers(uow, command, clock=clock) is None

    assert uow.published == []
    assert {
        k: (v.tags, v.deleted_at, v.merged_into) for k, v in uow.customers.rows.items()
    } == before
    assert uow.commits >= 1  # acknowledged: the inbox remembers it


async def test_a_primary_merged_away_passes_the_merge_to_its_survivor(
    uow: MergeFakeUnitOfWork,
) -> None:
    first, second, third = await customer(uow), await customer(uow), await customer(uow, tags=["x"])
    await merge_customers(uow, merge(first, second), clock=clock)

    await merge_customers(uow, merge(second, third), clock=clock)

    assert uow.customers.rows[third].merged_into == first
    assert uow.customers.rows[first].tags == ["x"]
    with pytest.raises(NotFound) as read:
        await view_customer(uow, second, include=set())
    assert read.value.extensions == {"merged_into": str(first)}


async def test_an_order_for_a_merged_customer_is_filed_under_its_survivor(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary, secondary = await customer(uow), await customer(uow)
    await merge_customers(uow, merge(primary, secondary), clock=clock)

    await place(uow, secondary, "LATE-1", "12.50")

    assert uow.orders.rows["LATE-1"].customer_id == primary
    assert uow.customers.rows[primary].stats.total_spent == Decimal("12.50")


async def test_an_unmerge_gives_back_exactly_what_moved(uow: MergeFakeUnitOfWork) -> None:
    primary = await customer(uow, tags=["vip"], external_ids={"shopify": "S-1"})
    secondary = await customer(
        uow, first_name="Ada", tags=["vip", "gift"], external_ids={"woo": "W-1"}
    )
    await place(uow, secondary, "S-1", "30.00")
    await add_address(
        uow,
        secondary,
        {"type": "billing", "address1": "2 Elm", "country": "FR"},
        rules=AddressRules(),
    )
    await record_consent(
        uow, secondary, ConsentRequest("email_marketing", True, "shop"), recorded_by=None
    )
    original = uow.customers.rows[secondary]
    await merge_customers(uow, merge(primary, secondary), clock=clock)
    uow.published.clear()

    record = await unmerge_customers(uow, unmerge(primary, secondary), clock=clock)

    assert record is not None
    assert record.unmerged_at == NOW
    survivor, restored = uow.customers.rows[primary], uow.customers.rows[secondary]
    assert (survivor.first_name, survivor.tags, survivor.external_ids) == (
        None,
        ["vip"],
        {"shopify": "S-1"},
    )
    assert survivor.accepts_marketing is False
    assert (primary, "email_marketing") not in uow.consents.state
    assert (restored.deleted_at, restored.merged_into) == (None, None)
    assert (restored.first_name, restored.tags, restored.external_ids) == (
        original.first_name,
        original.tags,
        original.external_ids,
    )
    assert restored.stats.total_spent == Decimal("30.00")
    assert survivor.stats.total_orders == 0
    assert {a.customer_id for a in uow.addresses.rows.values()} == {secondary}
    assert uow.merges.records[record.merge_id].unmerged_by == "ops"
    updates = [e for e in uow.published if isinstance(e, CustomerUpdated)]
    assert {e.customer_id for e in updates} == {primary, secondary}
    [full] = [e for e in updates if e.customer_id == secondary]
    assert "email" in full.changed_fields
    assert "tags" in full.changed_fields


async def test_a_field_changed_since_the_merge_stays_with_the_survivor(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary = await customer(uow)
    secondary = await customer(uow, first_name="Ada", last_name="Lovelace")
    await merge_customers(uow, merge(primary, secondary), clock=clock)
    await update_customer(uow, primary, {"first_name": "Augusta"}, rules=RULES)

    await unmerge_customers(uow, unmerge(primary, secondary), clock=clock)

    survivor = uow.customers.rows[primary]
    assert (survivor.first_name, survivor.last_name) == ("Augusta", None)
    assert uow.customers.rows[secondary].first_name == "Ada"


async def test_an_unmerge_delivered_twice_restores_once(uow: MergeFakeUnitOfWork) -> None:
    primary, secondary = await customer(uow), await customer(uow, tags=["t"])
    await merge_customers(uow, merge(primary, secondary), clock=clock)
    await unmerge_customers(uow, unmerge(primary, secondary), clock=clock)
    uow.published.clear()

    assert await unmerge_customers(uow, unmerge(primary, secondary), clock=clock) is None
    assert uow.published == []


async def test_an_unmerge_without_a_merge_changes_nothing(uow: MergeFakeUnitOfWork) -> None:
    primary, secondary = await customer(uow), await customer(uow)
    uow.published.clear()

    assert await unmerge_customers(uow, unmerge(primary, secondary), clock=clock) is None
    assert uow.published == []
    assert uow.customers.rows[secondary].deleted_at is None


async def test_an_unmerge_whose_email_was_taken_since_restores_the_customer_without_it(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary = await customer(uow)
    secondary = await customer(uow, email="ada@example.com", first_name="Ada")
    await merge_customers(uow, merge(primary, secondary), clock=clock)
    newcomer = await customer(uow, email="ada@example.com")  # free once merged away
    uow.published.clear()

    record = await unmerge_customers(uow, unmerge(primary, secondary), clock=clock)

    assert record is not None
    restored = uow.customers.rows[secondary]
    assert (restored.deleted_at, restored.email, restored.first_name) == (None, None, "Ada")
    assert uow.customers.rows[newcomer].email == "ada@example.com"
    [full] = [
        e for e in uow.published if isinstance(e, CustomerUpdated) and e.customer_id == secondary
    ]
    assert full.customer.email is None
