"""UpsertCustomerFromSource: create with the given id, or add to what the customer has."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from patron_profile.domain.sources import clean_source_values, consent_source_of
from patron_profile.service.customers import ContactRules, create_customer
from patron_profile.service.merges import merge_customers
from patron_profile.service.upserts import release_external_id, upsert_customer_from_source
from patron_shared.errors import PermanentFailure
from patron_shared.events import (
    AddressChanged,
    CustomerCreated,
    CustomerUpdated,
    MergeCustomers,
    ReleaseExternalId,
    TagsChanged,
    UpsertCustomerFromSource,
)

from .merge_fakes import MergeFakeUnitOfWork

RULES = ContactRules()
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ADDRESS = {"address1": "1 Market St", "city": "Pune", "pincode": "411001", "country": "in"}


def clock() -> datetime:
    return NOW


@pytest.fixture
def uow() -> MergeFakeUnitOfWork:
    return MergeFakeUnitOfWork()


def upsert(customer_id: uuid.UUID, **values: Any) -> UpsertCustomerFromSource:
    return UpsertCustomerFromSource(customer_id=customer_id, source="shopify", **values)


async def test_an_unknown_id_creates_the_customer_with_that_id_and_its_address(
    uow: MergeFakeUnitOfWork,
) -> None:
    customer_id = uuid.uuid4()

    await upsert_customer_from_source(
        uow,
        upsert(
            customer_id,
            external_id="S-42",
            email="Jane@Example.com",
            first_name=" Jane ",
            tags=["VIP", "vip"],
            date_of_birth=date(1990, 1, 2),
            address=ADDRESS,
        ),
        rules=RULES,
        clock=clock,
    )

    created = uow.customers.rows[customer_id]
    assert (created.email, created.first_name, created.tags) == (
        "jane@example.com",
        "Jane",
        ["vip"],
    )
    assert (created.source, created.external_ids) == ("shopify", {"shopify": "S-42"})
    assert created.date_of_birth == date(1990, 1, 2)
    [address] = uow.addresses.rows.values()
    assert (address.customer_id, address.type, address.is_default) == (
        customer_id,
        "shipping",
        True,
    )
    assert (address.address1, address.country) == ("1 Market St", "IN")
    assert [type(e) for e in uow.published] == [CustomerCreated, AddressChanged]


async def test_a_known_customer_gains_only_what_it_lacks(uow: MergeFakeUnitOfWork) -> None:
    existing = await create_customer(
        uow,
        {"email": "jane@example.com", "first_name": "Jane", "tags": ["vip"]},
        rules=RULES,
    )
    uow.published.clear()

    await upsert_customer_from_source(
        uow,
        upsert(
            existing.id,
            external_id="S-1",
            email="other@example.com",
            first_name="Janet",
            last_name="Doe",
            phone="+14155550132",
            tags=["new", "vip"],
            accepts_marketing=True,
        ),
        rules=RULES,
        clock=clock,
    )

    stored = uow.customers.rows[existing.id]
    assert (stored.email, stored.first_name, stored.last_name) == (
        "jane@example.com",
        "Jane",
        "Doe",
    )
    assert stored.phone == "+14155550132"
    assert stored.tags == ["vip", "new"]
    assert stored.external_ids == {"shopify": "S-1"}
    assert stored.accepts_marketing is False  # a source never overwrites
    [updated, tags] = uow.published
    assert isinstance(updated, CustomerUpdated)
    assert sorted(updated.changed_fields) == ["external_ids", "last_name", "phone", "tags"]
    assert isinstance(tags, TagsChanged)
    assert tags.added == ["new"]


async def test_a_source_saying_nothing_new_announces_nothing(uow: MergeFakeUnitOfWork) -> None:
    customer_id = uuid.uuid4()
    command = upsert(customer_id, external_id="S-1", email="a@example.com", address=ADDRESS)
    await upsert_customer_from_source(uow, command, rules=RULES, clock=clock)
    uow.published.clear()

    await upsert_customer_from_source(
        uow,
        upsert(
            customer_id,
            external_id="S-1",
            email="a@example.com",
            address=ADDRESS | {"city": "PUNE"},
        ),
        rules=RULES,
        clock=clock,
    )

    assert uow.published == []
    assert len(uow.addresses.rows) == 1


async def test_a_new_address_is_added_but_does_not_take_the_default(
    uow: MergeFakeUnitOfWork,
) -> None:
    customer_id = uuid.uuid4()
    await upsert_customer_from_source(
        uow, upsert(customer_id, email="a@example.com", address=ADDRESS), rules=RULES, clock=clock
    )

    await upsert_customer_from_source(
        uow,
        upsert(customer_id, address=ADDRESS | {"address1": "9 Other Rd"}),
        rules=RULES,
        clock=clock,
    )

    defaults = {a.address1: a.is_default for a in uow.addresses.rows.values()}
    assert defaults == {"1 Market St": True, "9 Other Rd": False}


async def test_a_malformed_email_is_skipped_and_the_rest_applied(
    uow: MergeFakeUnitOfWork,
) -> None:
    customer_id = uuid.uuid4()

    await upsert_customer_from_source(
        uow,
        upsert(customer_id, email="not-an-email", phone="+14155550132", first_name="Ann"),
        rules=RULES,
        clock=clock,
    )

    stored = uow.customers.rows[customer_id]
    assert (stored.email, stored.phone, stored.first_name) == (None, "+14155550132", "Ann")


@pytest.mark.parametrize(
    "values",
    [
        {"email": "not-an-email"},
        {"email": "bad", "phone": "12"},
        {"first_name": "Only A Name"},
    ],
)
async def test_a_command_that_cannot_make_a_customer_is_dead_lettered(
    uow: MergeFakeUnitOfWork, values: dict[str, Any]
) -> None:
    with pytest.raises(PermanentFailure):
        await upsert_customer_from_source(
            uow, upsert(uuid.uuid4(), **values), rules=RULES, clock=clock
        )
    assert uow.customers.rows == {}
    assert uow.published == []


async def test_a_source_id_alone_is_enough_to_create_the_customer(
    uow: MergeFakeUnitOfWork,
) -> None:
    customer_id = uuid.uuid4()

    await upsert_customer_from_source(
        uow,
        upsert(customer_id, external_id="pos-card-0042", first_name="Ann"),
        rules=RULES,
        clock=clock,
    )

    stored = uow.customers.rows[customer_id]
    assert (stored.email, stored.phone) == (None, None)
    assert stored.external_ids == {"shopify": "pos-card-0042"}


async def test_an_email_another_customer_has_is_not_taken(uow: MergeFakeUnitOfWork) -> None:
    await create_customer(uow, {"email": "taken@example.com"}, rules=RULES)
    customer_id = uuid.uuid4()

    await upsert_customer_from_source(
        uow,
        upsert(customer_id, email="taken@example.com", phone="+14155550132"),
        rules=RULES,
        clock=clock,
    )

    assert uow.customers.rows[customer_id].email is None


async def test_an_upsert_for_a_merged_id_applies_to_its_survivor(
    uow: MergeFakeUnitOfWork,
) -> None:
    primary = (await create_customer(uow, {"email": "p@example.com"}, rules=RULES)).id
    secondary = (await create_customer(uow, {"email": "s@example.com"}, rules=RULES)).id
    await merge_customers(uow, MergeCustomers(customer_id=primary, secondary_id=secondary))

    await upsert_customer_from_source(
        uow, upsert(secondary, external_id="S-9", tags=["late"]), rules=RULES, clock=clock
    )

    assert uow.customers.rows[primary].external_ids == {"shopify": "S-9"}
    assert uow.customers.rows[primary].tags == ["late"]
    assert uow.customers.rows[secondary].tags == []


async def test_an_upsert_for_a_deleted_customer_is_ignored(uow: MergeFakeUnitOfWork) -> None:
    deleted = await create_customer(uow, {"email": "gone@example.com"}, rules=RULES)
    uow.customers.rows[deleted.id].deleted_at = NOW
    uow.published.clear()

    assert (
        await upsert_customer_from_source(
            uow, upsert(deleted.id, first_name="Back"), rules=RULES, clock=clock
        )
        is None
    )
    assert uow.customers.rows[deleted.id].first_name is None
    assert uow.published == []


def test_each_bad_value_is_named_with_its_reason() -> None:
    values = clean_source_values(
        upsert(
            uuid.uuid4(), email="x@", phone="abc", tags=["ok", "t" * 300], address={"city": "X"}
        ),
        phone_default_region="US",
    )

    assert set(values.rejected) == {"email", "phone", "tags", "address"}
    assert values.fields == {"tags": ["ok"]}
    assert values.address is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("shopify", "shopify"),
        ("WooCommerce Store", "woocommerce_store"),
        ("123", "source_connector"),
    ],
)
def test_a_source_name_becomes_a_valid_consent_source(source: str, expected: str) -> None:
    assert consent_source_of(source) == expected


def release(customer_id: uuid.UUID, external_id: str = "S-42") -> ReleaseExternalId:
    return ReleaseExternalId(customer_id=customer_id, source="shopify", external_id=external_id)


async def test_a_released_id_leaves_the_customer_and_the_rest_stays(
    uow: MergeFakeUnitOfWork,
) -> None:
    customer_id = uuid.uuid4()
    await upsert_customer_from_source(
        uow, upsert(customer_id, external_id="S-42", email="jane@example.com"), rules=RULES
    )
    await upsert_customer_from_source(
        uow,
        UpsertCustomerFromSource(customer_id=customer_id, source="woocommerce", external_id="W-7"),
        rules=RULES,
    )
    uow.published.clear()

    customer = await release_external_id(uow, release(customer_id), clock=clock)

    assert customer is not None
    assert uow.customers.rows[customer_id].external_ids == {"woocommerce": "W-7"}
    assert uow.customers.rows[customer_id].email == "jane@example.com"
    [updated] = [e for e in uow.published if isinstance(e, CustomerUpdated)]
    assert updated.changed_fields == ["external_ids"]


@pytest.mark.parametrize("held", ["S-41", None])
async def test_releasing_an_id_the_customer_does_not_hold_changes_nothing(
    uow: MergeFakeUnitOfWork, held: str | None
) -> None:
    customer_id = uuid.uuid4()
    await upsert_customer_from_source(
        uow, upsert(customer_id, external_id=held, email="jane@example.com"), rules=RULES
    )
    before = dict(uow.customers.rows[customer_id].external_ids)
    uow.published.clear()

    await release_external_id(uow, release(customer_id), clock=clock)

    assert uow.customers.rows[customer_id].external_ids == before
    assert uow.published == []


async def test_the_id_that_is_all_a_customer_has_is_kept(uow: MergeFakeUnitOfWork) -> None:
    customer_id = uuid.uuid4()
    await upsert_customer_from_source(uow, upsert(customer_id, external_id="S-42"), rules=RULES)
    uow.published.clear()

    await release_external_id(uow, release(customer_id), clock=clock)

    assert uow.customers.rows[customer_id].external_ids == {"shopify": "S-42"}
    assert uow.published == []


async def test_a_release_for_a_merged_away_customer_applies_to_its_survivor(
    uow: MergeFakeUnitOfWork,
) -> None:
    survivor = (await create_customer(uow, {"email": "a@example.com"}, rules=RULES)).id
    merged = uuid.uuid4()
    await upsert_customer_from_source(
        uow, upsert(merged, external_id="S-42", email="b@example.com"), rules=RULES
    )
    await merge_customers(uow, MergeCustomers(customer_id=survivor, secondary_id=merged))
    assert uow.customers.rows[survivor].external_ids == {"shopify": "S-42"}

    await release_external_id(uow, release(merged), clock=clock)

    assert uow.customers.rows[survivor].external_ids == {}
