"""Addresses and merges as the identity graph follows them."""

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.matching import NormalizationRules
from patron_identity.domain.resolution import Identifier
from patron_identity.service import customers as use_cases
from patron_identity.service.customers import (
    change_address,
    erase_customer,
    get_graph,
    merge_customers,
    record_customer,
)
from patron_shared.events import (
    AddressChanged,
    AddressSnapshot,
    CustomerCreated,
    CustomerErased,
    CustomersMerged,
    CustomerSnapshot,
    CustomerUpdated,
)
from patron_shared.testing import run_without_io

from .fakes import FakeIdentityUnitOfWork

JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RULES = NormalizationRules()


@pytest.fixture(autouse=True)
def refreshed(monkeypatch: pytest.MonkeyPatch) -> list[IdentityCustomer]:
    calls: list[IdentityCustomer] = []

    async def remember(uow: object, customer: IdentityCustomer) -> None:
        calls.append(copy.deepcopy(customer))

    monkeypatch.setattr(use_cases, "refresh_matching", remember)
    return calls


def address(
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    change: Literal["created", "updated", "deleted"] = "created",
    *,
    type_: Literal["billing", "shipping"] = "shipping",
    is_default: bool = False,
    city: str = "Springfield",
) -> AddressChanged:
    body = AddressSnapshot(
        type=type_,
        is_default=is_default,
        address1=f"1 {city} Road",
        address2="Flat 2",
        city=city,
        state="IL",
        pincode="62701",
        country="US",
    )
    return AddressChanged(
        customer_id=customer_id,
        address_id=address_id,
        change=change,
        address=None if change == "deleted" else body,
    )


def created(customer_id: uuid.UUID, email: str, minutes: int = 0) -> CustomerCreated:
    return CustomerCreated(
        customer_id=customer_id,
        customer=CustomerSnapshot(
            email=email,
            external_ids={"shopify": email.split("@", maxsplit=1)[0]},
            created_at=JOINED + timedelta(minutes=minutes),
            updated_at=JOINED + timedelta(minutes=minutes),
        ),
    )


def merged(survivor: uuid.UUID, merged_id: uuid.UUID, **fields: object) -> CustomersMerged:
    values: dict[str, object] = {
        "merge_id": uuid.uuid4(),
        "merged_at": JOINED + timedelta(days=1),
        "merged_by": "auto",
        "rule": "exact:email",
        "score": 0.9995,
        "suggestion_id": uuid.uuid4(),
    }
    return CustomersMerged(
        customer_id=survivor,
        merged_customer_id=merged_id,
        **(values | fields),  # type: ignore[arg-type]
    )


async def test_the_default_shipping_address_is_the_one_matched_on() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    await record_customer(uow, created(customer_id, "ann@example.com"), rules=RULES)

    await change_address(uow, address(customer_id, uuid.uuid4(), is_default=True, city="Paris"))
    await change_address(uow, address(customer_id, uuid.uuid4(), type_="billing", city="Rome"))

    stored = uow.customers.rows[customer_id]
    assert (stored.address1, stored.address2, stored.city, stored.postcode, stored.country) == (
        "1 Paris Road",
        "Flat 2",
        "Paris",
        "62701",
        "US",
    )
    assert stored.person_record().city == "Paris"


async def test_without_a_default_shipping_address_the_newest_is_matched_on() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    first, second = uuid.uuid4(), uuid.uuid4()
    await change_address(uow, address(customer_id, first, city="Paris"))
    await change_address(uow, address(customer_id, second, type_="billing", city="Rome"))
    assert uow.customers.rows[customer_id].city == "Rome"

    await change_address(uow, address(customer_id, first, "updated", city="Lyon"))
    assert uow.customers.rows[customer_id].city == "Rome"  # an edit does not make it newer

    await change_address(uow, address(customer_id, second, "deleted"))
    assert uow.customers.rows[customer_id].city == "Lyon"


async def test_an_address_seen_before_the_customer_survives_its_snapshot() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await change_address(uow, address(customer_id, uuid.uuid4(), city="Oslo"))
    await record_customer(uow, created(customer_id, "ann@example.com"), rules=RULES)

    stored = uow.customers.rows[customer_id]
    assert (stored.city, stored.email) == ("Oslo", "ann@example.com")


async def test_an_address_change_is_screened_and_a_repeated_one_is_not(
    refreshed: list[IdentityCustomer],
) -> None:
    uow, customer_id, address_id = FakeIdentityUnitOfWork(), uuid.uuid4(), uuid.uuid4()

    await change_address(uow, address(customer_id, address_id, city="Oslo"))
    await change_address(uow, address(customer_id, address_id, "updated", city="Oslo"))

    assert [c.city for c in refreshed] == ["Oslo"]
    assert uow.commits == 2


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=4),  # which address
            st.sampled_from(["created", "updated", "deleted"]),
            st.sampled_from(["billing", "shipping"]),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_the_matched_address_is_always_the_default_shipping_one_or_else_the_newest(
    steps: list[tuple[int, str, str, bool]],
) -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(5)]
    live: dict[int, tuple[str, bool, str]] = {}  # which -> (type, default, city)
    created_order: list[int] = []
    for n, (which, change, type_, is_default) in enumerate(steps):
        city = f"city-{n}"
        event = address(
            customer_id,
            ids[which],
            change,
            type_=type_,
            is_default=is_default,
            city=city,  # type: ignore[arg-type]
        )
        run_without_io(change_address(uow, event))
        if change == "deleted":
            live.pop(which, None)
            created_order = [w for w in created_order if w != which]
        else:
            if which not in live:
                created_order.append(which)
            live[which] = (type_, is_default, city)

    stored = uow.customers.rows.get(customer_id)
    defaults = [w for w in created_order if live[w][0] == "shipping" and live[w][1]]
    expected = (defaults or created_order or [None])[-1]
    assert (stored.city if stored else None) == (
        live[expected][2] if expected is not None else None
    )


async def test_a_merge_moves_the_merged_customers_identifiers_to_the_survivor() -> None:
    uow, survivor, gone = FakeIdentityUnitOfWork(), uuid.uuid4(), uuid.uuid4()
    await record_customer(uow, created(survivor, "ann@example.com"), rules=RULES)
    await record_customer(uow, created(gone, "ann.lee@example.com", 5), rules=RULES)
    event = merged(survivor, gone)

    await merge_customers(uow, event)

    assert await uow.identifiers.of_customer(gone) == []
    assert Identifier("email", "ann.lee@example.com") in await uow.identifiers.of_customer(survivor)
    assert uow.customers.rows[gone].merged_into == survivor
    assert event.merge_id is not None
    merge = uow.lineage.merges[event.merge_id]
    assert (merge.survivor_id, merge.merged_customer_id, merge.rule, merge.merged_by) == (
        survivor,
        gone,
        "exact:email",
        "auto",
    )
    assert {t.identifier.value for t in uow.lineage.moves[event.merge_id]} == {
        "ann.lee@example.com",
        "shopify:ann.lee",
    }


async def test_a_merge_announced_twice_is_recorded_once(
    refreshed: list[IdentityCustomer],
) -> None:
    uow, survivor, gone = FakeIdentityUnitOfWork(), uuid.uuid4(), uuid.uuid4()
    await record_customer(uow, created(gone, "ann.lee@example.com"), rules=RULES)
    event = merged(survivor, gone, merge_id=None)
    refreshed.clear()

    await merge_customers(uow, event)
    await merge_customers(uow, event.model_copy())  # the same merge in another message

    assert len(uow.lineage.merges) == 1
    (merge_id,) = uow.lineage.merges
    assert len(uow.lineage.moves[merge_id]) == 2
    assert sorted(c.customer_id for c in refreshed) == sorted([survivor, gone])


async def test_the_survivor_keeps_what_it_took_in_a_merge_when_its_profile_changes() -> None:
    uow, survivor, gone = FakeIdentityUnitOfWork(), uuid.uuid4(), uuid.uuid4()
    await record_customer(uow, created(survivor, "ann@example.com"), rules=RULES)
    await record_customer(uow, created(gone, "ann.lee@example.com"), rules=RULES)
    await merge_customers(uow, merged(survivor, gone))

    update = CustomerUpdated(
        customer_id=survivor,
        changed_fields=["email"],
        customer=CustomerSnapshot(
            email="ann.new@example.com", created_at=JOINED, updated_at=JOINED + timedelta(days=2)
        ),
    )
    await record_customer(uow, update, rules=RULES)

    assert {i.value for i in await uow.identifiers.of_customer(survivor)} == {
        "ann.new@example.com",
        "ann.lee@example.com",
        "shopify:ann.lee",
    }


async def test_erasing_a_survivor_forgets_the_identifiers_its_merges_moved() -> None:
    uow, survivor, gone = FakeIdentityUnitOfWork(), uuid.uuid4(), uuid.uuid4()
    await record_customer(uow, created(survivor, "ann@example.com"), rules=RULES)
    await record_customer(uow, created(gone, "ann.lee@example.com"), rules=RULES)
    event = merged(survivor, gone)
    await merge_customers(uow, event)

    erasure = CustomerErased(
        customer_id=survivor, mode="anonymize", erased_at=JOINED + timedelta(days=3)
    )
    await erase_customer(uow, erasure)

    assert uow.identifiers.owned == {}
    assert uow.lineage.moves == {}
    assert event.merge_id in uow.lineage.merges  # the merge itself (ids, who, when) stays


async def test_the_graph_shows_a_merged_away_customer_with_its_survivor() -> None:
    uow, survivor, gone = FakeIdentityUnitOfWork(), uuid.uuid4(), uuid.uuid4()
    await record_customer(uow, created(survivor, "ann@example.com"), rules=RULES)
    await record_customer(uow, created(gone, "ann.lee@example.com"), rules=RULES)
    await merge_customers(uow, merged(survivor, gone))

    of_gone, of_survivor = await get_graph(uow, gone), await get_graph(uow, survivor)

    assert (of_gone.merged_into, of_gone.identifiers) == (survivor, [])
    assert [m.merge.survivor_id for m in of_gone.merges] == [survivor]
    assert len(of_survivor.identifiers) == 4
    assert [len(m.moved) for m in of_survivor.merges] == [2]
