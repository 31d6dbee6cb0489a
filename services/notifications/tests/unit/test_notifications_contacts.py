import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_notifications.service.contacts import (
    delete_contact,
    erase_contact,
    get_contact,
    list_contacts,
    record_contact,
)
from patron_shared.errors import NotFound
from patron_shared.events import (
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomerSnapshot,
    CustomerUpdated,
)
from patron_shared.testing import run_without_io

from .fakes import FakeNotificationsUnitOfWork

JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return JOINED + timedelta(minutes=minutes)


def snapshot(minutes: int = 0, email: str = "ann@example.com") -> CustomerSnapshot:
    return CustomerSnapshot(
        email=email,
        phone="+14155550123",
        first_name="Ann",
        locale="en-GB",
        accepts_marketing=True,
        created_at=JOINED,
        updated_at=at(minutes),
    )


def created(customer_id: uuid.UUID) -> CustomerCreated:
    return CustomerCreated(customer_id=customer_id, customer=snapshot())


def updated(customer_id: uuid.UUID, minutes: int, email: str) -> CustomerUpdated:
    return CustomerUpdated(
        customer_id=customer_id, changed_fields=["email"], customer=snapshot(minutes, email)
    )


async def test_a_created_customer_becomes_a_reachable_contact() -> None:
    uow, customer_id = FakeNotificationsUnitOfWork(), uuid.uuid4()

    await record_contact(uow, created(customer_id))

    contact = await get_contact(uow, customer_id)
    assert (contact.email, contact.phone, contact.first_name) == (
        "ann@example.com",
        "+14155550123",
        "Ann",
    )
    assert (contact.locale, contact.accepts_marketing) == ("en-GB", True)


async def test_an_older_snapshot_does_not_overwrite_a_newer_one() -> None:
    uow, customer_id = FakeNotificationsUnitOfWork(), uuid.uuid4()
    await record_contact(uow, updated(customer_id, 10, "new@example.com"))

    await record_contact(uow, updated(customer_id, 5, "old@example.com"))
    await record_contact(uow, created(customer_id))

    assert (await get_contact(uow, customer_id)).email == "new@example.com"
    assert uow.contacts.writes == 1


async def test_a_deleted_customer_is_no_contact_any_more() -> None:
    uow, customer_id = FakeNotificationsUnitOfWork(), uuid.uuid4()
    await record_contact(uow, created(customer_id))

    await delete_contact(uow, CustomerDeleted(customer_id=customer_id, deleted_at=at(60)))

    with pytest.raises(NotFound):
        await get_contact(uow, customer_id)
    assert await list_contacts(uow, offset=0, limit=10) == ([], 0)


@pytest.mark.parametrize("mode", ["hard", "anonymize"])
async def test_erasure_removes_email_phone_and_first_name(mode: str) -> None:
    uow, customer_id = FakeNotificationsUnitOfWork(), uuid.uuid4()
    await record_contact(uow, created(customer_id))

    erasure = CustomerErased(customer_id=customer_id, mode=mode, erased_at=at(90))  # type: ignore[arg-type]
    await erase_contact(uow, erasure)
    await record_contact(uow, updated(customer_id, 30, "late@example.com"))  # taken before

    stored = uow.contacts.rows[customer_id]
    assert (stored.email, stored.phone, stored.first_name) == (None, None, None)
    assert (stored.deleted_at is not None) is (mode == "hard")


async def test_an_erasure_seen_before_the_creation_keeps_the_personal_data_out() -> None:
    uow, customer_id = FakeNotificationsUnitOfWork(), uuid.uuid4()

    await erase_contact(
        uow, CustomerErased(customer_id=customer_id, mode="anonymize", erased_at=at(90))
    )
    await record_contact(uow, created(customer_id))

    contact = await get_contact(uow, customer_id)
    assert (contact.email, contact.phone, contact.first_name) == (None, None, None)


async def test_the_list_holds_only_contacts_of_existing_customers() -> None:
    uow = FakeNotificationsUnitOfWork()
    kept, gone = uuid.uuid4(), uuid.uuid4()
    for customer_id in (kept, gone):
        await record_contact(uow, created(customer_id))
    await delete_contact(uow, CustomerDeleted(customer_id=gone, deleted_at=at(60)))

    found, total = await list_contacts(uow, offset=0, limit=10)

    assert ([c.customer_id for c in found], total) == ([kept], 1)


@given(
    minutes=st.lists(
        st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6, unique=True
    ),
    erasure=st.none() | st.integers(min_value=10_001, max_value=20_000),
    order=st.randoms(use_true_random=False),
)
def test_any_arrival_order_ends_at_the_newest_snapshot_or_erased(
    minutes: list[int], erasure: int | None, order: object
) -> None:
    customer_id = uuid.uuid4()
    events = [(record_contact, updated(customer_id, m, f"v{m}@example.com")) for m in minutes]
    if erasure is not None:
        erased = CustomerErased(customer_id=customer_id, mode="anonymize", erased_at=at(erasure))
        events.append((erase_contact, erased))
    order.shuffle(events)  # type: ignore[attr-defined]
    uow = FakeNotificationsUnitOfWork()

    for handler, event in events:
        run_without_io(handler(uow, event))  # type: ignore[operator]

    stored = uow.contacts.rows[customer_id]
    if erasure is None:
        assert stored.email == f"v{max(minutes)}@example.com"
    else:
        assert (stored.email, stored.phone, stored.first_name) == (None, None, None)
