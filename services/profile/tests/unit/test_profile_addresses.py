"""Address rules without I/O: validation, one default per type, write order, use cases."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_profile.domain.address import (
    ADDRESS_TYPES,
    ISO_COUNTRY_CODES,
    MAX_ADDRESSES_PER_CUSTOMER,
    Address,
    AddressBook,
    AddressType,
    AddressWrite,
    clean_address_fields,
    normalize_country,
)
from patron_profile.service.addresses import (
    AddressRules,
    add_address,
    change_address,
    list_addresses,
    remove_address,
    set_default_address,
)
from patron_profile.service.customers import ContactRules, create_customer, delete_customer
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import AddressChanged

from .conftest import FakeUnitOfWork

CUSTOMER = uuid.uuid4()
START = datetime(2026, 11, 25, tzinfo=UTC)
RULES = AddressRules(phone_default_region="US")


def ticking_clock() -> Iterator[datetime]:
    for step in range(1_000_000):
        yield START + timedelta(seconds=step)


def new_address(
    kind: AddressType, now: datetime, *, is_default: bool = False, **values: Any
) -> Address:
    address = Address.new(
        address_id=uuid.uuid4(),
        tenant_id="demo",
        customer_id=CUSTOMER,
        now=now,
        type=kind,
        address1=values.pop("address1", "1 Market St"),
        country=values.pop("country", "US"),
        **values,
    )
    address.is_default = is_default  # as stored: loaded books start from the table
    return address


def defaults(addresses: list[Address]) -> dict[str, uuid.UUID]:
    return {a.type: a.id for a in addresses if a.is_default}


# --- validation ------------------------------------------------------------------------


def test_the_country_list_is_the_249_assigned_iso_codes() -> None:
    assert len(ISO_COUNTRY_CODES) == 249
    assert {"US", "GB", "IN", "DE", "AX", "SS"} <= ISO_COUNTRY_CODES


@pytest.mark.parametrize("raw", ["us", " Us ", "US"])
def test_a_country_code_is_upper_cased(raw: str) -> None:
    assert normalize_country(raw) == "US"


@pytest.mark.parametrize("raw", ["XX", "UK", "USA", "", "1A"])
def test_an_unknown_country_code_is_invalid_input_naming_the_country(raw: str) -> None:
    with pytest.raises(InvalidInput) as error:
        normalize_country(raw)
    assert error.value.field == "country"


def test_address_fields_are_cleaned_to_canonical_forms() -> None:
    clean = clean_address_fields(
        {
            "type": "shipping",
            "first_name": "  Jane  ",
            "address1": " 1   Market St ",
            "address2": "  ",
            "pincode": " sw1a 1aa ",
            "country": "gb",
            "phone": "(415) 555-0123",
        },
        phone_default_region="US",
    )

    assert clean == {
        "type": "shipping",
        "first_name": "Jane",
        "address1": "1 Market St",
        "address2": None,
        "pincode": "SW1A 1AA",
        "country": "GB",
        "phone": "+14155550123",
    }


@pytest.mark.parametrize(
    ("values", "field_name"),
    [
        ({"phone": "12"}, "phone"),
        ({"country": "XX"}, "country"),
        ({"type": "home"}, "type"),
        ({"address1": "   "}, "address1"),
        ({"country": None}, "country"),
        ({"is_default": True}, "is_default"),
        ({"street": "x"}, "street"),
    ],
)
def test_bad_address_fields_are_invalid_input_naming_the_field(
    values: dict[str, Any], field_name: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        clean_address_fields(values, phone_default_region="US")
    assert error.value.field == field_name


def test_an_address_needs_a_street_line_and_a_country() -> None:
    with pytest.raises(InvalidInput) as error:
        Address.new(
            address_id=uuid.uuid4(),
            tenant_id="demo",
            customer_id=CUSTOMER,
            now=START,
            type="billing",
            country="US",
        )
    assert error.value.field == "address1"


# --- the default rules -----------------------------------------------------------------


def test_the_first_address_of_each_type_becomes_its_default() -> None:
    clock = ticking_clock()
    book = AddressBook(CUSTOMER)
    first_shipping = book.add(new_address("shipping", next(clock)))
    second_shipping = book.add(new_address("shipping", next(clock)))
    first_billing = book.add(new_address("billing", next(clock)))

    assert first_shipping.is_default
    assert not second_shipping.is_default
    assert first_billing.is_default


def test_adding_a_new_default_unsets_the_previous_one_and_announces_both() -> None:
    clock = ticking_clock()
    old = new_address("shipping", next(clock), is_default=True)
    book = AddressBook(CUSTOMER, [old])

    new = book.add(new_address("shipping", next(clock)), make_default=True)

    assert (old.is_default, new.is_default) == (False, True)
    assert [(e.address_id, e.change) for e in book.events] == [
        (old.id, "updated"),
        (new.id, "created"),
    ]
    assert [(w.kind, w.address.id) for w in book.writes()] == [
        ("update", old.id),
        ("insert", new.id),
    ]


def test_setting_a_default_writes_the_unset_before_the_set() -> None:
    clock = ticking_clock()
    old = new_address("billing", next(clock), is_default=True)
    other = new_address("billing", next(clock))
    book = AddressBook(CUSTOMER, [other, old])

    book.set_default(other.id, now=next(clock))

    assert [(w.kind, w.address.id, w.address.is_default) for w in book.writes()] == [
        ("update", old.id, False),
        ("update", other.id, True),
    ]


def test_setting_the_current_default_again_changes_nothing() -> None:
    address = new_address("billing", START, is_default=True)
    book = AddressBook(CUSTOMER, [address])

    book.set_default(address.id, now=START + timedelta(days=1))

    assert book.events == []
    assert book.writes() == []


def test_deleting_the_default_promotes_the_most_recent_remaining_address_of_its_type() -> None:
    clock = ticking_clock()
    default = new_address("shipping", next(clock), is_default=True)
    older = new_address("shipping", next(clock))
    newest = new_address("shipping", next(clock))
    billing = new_address("billing", next(clock), is_default=True)
    book = AddressBook(CUSTOMER, [default, older, newest, billing])

    book.remove(default.id, now=next(clock))

    assert defaults(book.addresses) == {"shipping": newest.id, "billing": billing.id}
    assert [(e.address_id, e.change) for e in book.events] == [
        (default.id, "deleted"),
        (newest.id, "updated"),
    ]
    assert [w.kind for w in book.writes()] == ["delete", "update"]


def test_deleting_the_last_address_of_a_type_leaves_no_default() -> None:
    only = new_address("billing", START, is_default=True)
    book = AddressBook(CUSTOMER, [only])

    book.remove(only.id, now=START)

    assert book.addresses == []
    assert book.default_of("billing") is None


def test_moving_the_default_to_the_other_type_hands_its_old_default_on() -> None:
    clock = ticking_clock()
    moving = new_address("shipping", next(clock), is_default=True)
    staying = new_address("shipping", next(clock))
    book = AddressBook(CUSTOMER, [moving, staying])

    book.change(moving.id, {"type": "billing"}, now=next(clock))

    assert defaults(book.addresses) == {"billing": moving.id, "shipping": staying.id}
    # The moved default goes first: until it is written, it holds the shipping slot.
    assert [w.address.id for w in book.writes()] == [moving.id, staying.id]


def test_an_unknown_address_is_not_found() -> None:
    book = AddressBook(CUSTOMER, [new_address("billing", START, is_default=True)])
    with pytest.raises(NotFound):
        book.set_default(uuid.uuid4(), now=START)


def test_a_customer_has_a_limited_number_of_addresses() -> None:
    clock = ticking_clock()
    book = AddressBook(CUSTOMER)
    for _ in range(MAX_ADDRESSES_PER_CUSTOMER):
        book.add(new_address("shipping", next(clock)))

    with pytest.raises(Conflict):
        book.add(new_address("billing", next(clock)))


def test_events_carry_the_street_lines_but_no_names_or_phone() -> None:
    book = AddressBook(CUSTOMER)
    book.add(
        new_address(
            "shipping",
            START,
            first_name="Jane",
            address2="Flat 4",
            city="Pune",
            pincode="411001",
            phone="+1415",
        )
    )

    snapshot = book.events[0].model_dump()["address"]
    assert snapshot == {
        "type": "shipping",
        "is_default": True,
        "address1": "1 Market St",
        "address2": "Flat 4",
        "city": "Pune",
        "state": None,
        "pincode": "411001",
        "country": "US",
    }


# --- property: any sequence of changes keeps exactly one default per type ----------------


class UniqueDefaultViolation(AssertionError):
    pass


def apply_writes(table: dict[uuid.UUID, Address], writes: list[AddressWrite]) -> None:
    """Replay writes like PostgreSQL would, checking the partial unique index after each."""
    for write in writes:
        if write.kind == "delete":
            del table[write.address.id]
        else:
            table[write.address.id] = copy.deepcopy(write.address)
        for kind in ADDRESS_TYPES:
            if sum(1 for a in table.values() if a.type == kind and a.is_default) > 1:
                raise UniqueDefaultViolation(f"two {kind} defaults after {write.kind}")


Operation = tuple[Any, ...]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(ADDRESS_TYPES), st.booleans()),
        st.tuples(st.just("set_default"), st.integers(0, 99)),
        st.tuples(st.just("remove"), st.integers(0, 99)),
        st.tuples(st.just("retype"), st.integers(0, 99), st.sampled_from(ADDRESS_TYPES)),
    ),
    max_size=40,
)


def run_operation(book: AddressBook, operation: Operation, existing: list[uuid.UUID]) -> None:
    now = START + timedelta(seconds=len(existing))
    name = operation[0]
    if name == "add":
        book.add(new_address(operation[1], now), make_default=operation[2])
        return
    if not existing:
        return
    target = existing[operation[1] % len(existing)]
    if name == "set_default":
        book.set_default(target, now=now)
    elif name == "remove":
        book.remove(target, now=now)
    else:
        book.change(target, {"type": operation[2]}, now=now)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_any_sequence_of_changes_keeps_exactly_one_default_per_type_present(
    sequence: list[Operation],
) -> None:
    table: dict[uuid.UUID, Address] = {}
    # What a consumer of AddressChanged knows: the latest snapshot of each live address.
    projection: dict[uuid.UUID, tuple[str, bool]] = {}
    for operation in sequence:
        book = AddressBook(CUSTOMER, copy.deepcopy(list(table.values())))
        run_operation(book, operation, sorted(table))

        apply_writes(table, book.writes())

        assert {a.id: a for a in book.addresses} == table
        for kind in ADDRESS_TYPES:
            of_kind = [a for a in table.values() if a.type == kind]
            assert sum(a.is_default for a in of_kind) == (1 if of_kind else 0)
        for event in book.pull_events():
            if event.change == "deleted":
                projection.pop(event.address_id)
            else:
                assert event.address is not None
                projection[event.address_id] = (event.address.type, event.address.is_default)
        assert projection == {a.id: (a.type, a.is_default) for a in table.values()}


# --- use cases -------------------------------------------------------------------------


@dataclass
class FakeAddressRepository:
    rows: dict[uuid.UUID, Address] = field(default_factory=dict)

    async def list_for_customer(self, customer_id: uuid.UUID) -> list[Address]:
        found = [copy.deepcopy(a) for a in self.rows.values() if a.customer_id == customer_id]
        return sorted(found, key=lambda a: (a.created_at, str(a.id)), reverse=True)

    async def list_page(
        self, customer_id: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[list[Address], int]:
        found = await self.list_for_customer(customer_id)
        return found[offset : offset + limit], len(found)

    async def get_book(self, customer_id: uuid.UUID) -> AddressBook:
        return AddressBook(customer_id, await self.list_for_customer(customer_id))

    async def save_book(self, book: AddressBook) -> None:
        apply_writes(self.rows, book.writes())


class FakeAddressUnitOfWork(FakeUnitOfWork):
    repositories = ("customers", "addresses")

    def __init__(self) -> None:
        super().__init__()
        self.addresses = FakeAddressRepository()


@pytest.fixture
def book_uow() -> FakeAddressUnitOfWork:
    return FakeAddressUnitOfWork()


async def a_customer(uow: FakeAddressUnitOfWork) -> uuid.UUID:
    customer = await create_customer(
        uow, {"email": f"{uuid.uuid4().hex}@example.com"}, rules=ContactRules()
    )
    uow.published.clear()
    return customer.id


SHIPPING = {"type": "shipping", "address1": "1 Market St", "country": "us"}


async def test_adding_an_address_stores_it_and_publishes_address_changed(
    book_uow: FakeAddressUnitOfWork,
) -> None:
    customer_id = await a_customer(book_uow)

    address = await add_address(book_uow, customer_id, SHIPPING, rules=RULES)

    assert address.country == "US"
    assert address.is_default
    assert book_uow.addresses.rows[address.id].is_default
    assert [(type(e), e.change) for e in book_uow.published if isinstance(e, AddressChanged)] == [
        (AddressChanged, "created")
    ]


async def test_an_unknown_or_deleted_customer_has_no_addresses(
    book_uow: FakeAddressUnitOfWork,
) -> None:
    with pytest.raises(NotFound):
        await add_address(book_uow, uuid.uuid4(), SHIPPING, rules=RULES)

    customer_id = await a_customer(book_uow)
    await add_address(book_uow, customer_id, SHIPPING, rules=RULES)
    await delete_customer(book_uow, customer_id)
    with pytest.raises(NotFound):
        await list_addresses(book_uow, customer_id, offset=0, limit=20)


async def test_another_customers_address_is_not_found(book_uow: FakeAddressUnitOfWork) -> None:
    owner = await a_customer(book_uow)
    stranger = await a_customer(book_uow)
    address = await add_address(book_uow, owner, SHIPPING, rules=RULES)

    for attempt in (
        change_address(book_uow, stranger, address.id, {"city": "X"}, rules=RULES),
        set_default_address(book_uow, stranger, address.id),
        remove_address(book_uow, stranger, address.id),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert address.id in book_uow.addresses.rows


async def test_invalid_input_changes_and_publishes_nothing(
    book_uow: FakeAddressUnitOfWork,
) -> None:
    customer_id = await a_customer(book_uow)
    address = await add_address(book_uow, customer_id, SHIPPING, rules=RULES)
    book_uow.published.clear()

    with pytest.raises(InvalidInput):
        await change_address(book_uow, customer_id, address.id, {"country": "XX"}, rules=RULES)

    assert book_uow.addresses.rows[address.id].country == "US"
    assert book_uow.published == []


async def test_deleting_the_default_through_the_use_case_promotes_the_next_one(
    book_uow: FakeAddressUnitOfWork,
) -> None:
    customer_id = await a_customer(book_uow)
    clock = ticking_clock()
    first = await add_address(
        book_uow, customer_id, SHIPPING, rules=RULES, clock=lambda: next(clock)
    )
    second = await add_address(
        book_uow, customer_id, SHIPPING, rules=RULES, clock=lambda: next(clock)
    )

    await remove_address(book_uow, customer_id, first.id)

    assert list(book_uow.addresses.rows) == [second.id]
    assert book_uow.addresses.rows[second.id].is_default
