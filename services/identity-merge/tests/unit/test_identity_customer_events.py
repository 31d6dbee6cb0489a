import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_identity.service.customers import (
    delete_customer,
    erase_customer,
    get_identifiers,
    record_customer,
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

from .fakes import FakeIdentityUnitOfWork

JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return JOINED + timedelta(minutes=minutes)


def snapshot(minutes: int = 0, email: str = "ann@example.com") -> CustomerSnapshot:
    return CustomerSnapshot(
        email=email,
        phone="+14155550123",
        first_name="Ann",
        last_name="Lee",
        external_ids={"shopify": "123"},
        created_at=JOINED,
        updated_at=at(minutes),
    )


def updated(customer_id: uuid.UUID, minutes: int, email: str) -> CustomerUpdated:
    return CustomerUpdated(
        customer_id=customer_id, changed_fields=["email"], customer=snapshot(minutes, email)
    )


async def test_a_created_customer_is_recorded_with_its_identifiers() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await record_customer(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    identifiers = await get_identifiers(uow, customer_id)
    assert identifiers.email == "ann@example.com"
    assert identifiers.external_ids == ("shopify:123",)
    assert uow.customers.rows[customer_id].last_name == "Lee"
    assert uow.commits == 1


async def test_an_older_snapshot_does_not_overwrite_a_newer_one() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    await record_customer(uow, updated(customer_id, 10, "new@example.com"))

    await record_customer(uow, updated(customer_id, 5, "old@example.com"))
    await record_customer(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    assert (await get_identifiers(uow, customer_id)).email == "new@example.com"
    assert uow.customers.writes == 1


async def test_a_deleted_customer_has_no_identifiers_any_more() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    await record_customer(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    await delete_customer(uow, CustomerDeleted(customer_id=customer_id, deleted_at=at(60)))

    with pytest.raises(NotFound):
        await get_identifiers(uow, customer_id)


async def test_a_creation_arriving_after_the_deletion_does_not_bring_the_customer_back() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await delete_customer(uow, CustomerDeleted(customer_id=customer_id, deleted_at=at(60)))
    await record_customer(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    with pytest.raises(NotFound):
        await get_identifiers(uow, customer_id)
    assert uow.customers.rows[customer_id].email is None


@pytest.mark.parametrize("mode", ["hard", "anonymize"])
async def test_erasure_blanks_every_personal_field(mode: str) -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    await record_customer(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    await erase_customer(
        uow,
        CustomerErased(customer_id=customer_id, mode=mode, erased_at=at(90)),  # type: ignore[arg-type]
    )
    await record_customer(uow, updated(customer_id, 30, "late@example.com"))  # taken before

    stored = uow.customers.rows[customer_id]
    personal = (stored.email, stored.phone, stored.first_name, stored.last_name)
    assert personal == (None, None, None, None)
    assert stored.external_ids == {}
    assert (stored.deleted_at is not None) is (mode == "hard")


async def test_an_erasure_of_an_unknown_customer_keeps_its_late_creation_out() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await erase_customer(
        uow, CustomerErased(customer_id=customer_id, mode="anonymize", erased_at=at(90))
    )
    await record_customer(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    assert (await get_identifiers(uow, customer_id)).email is None


async def test_an_unknown_customer_is_not_found() -> None:
    with pytest.raises(NotFound):
        await get_identifiers(FakeIdentityUnitOfWork(), uuid.uuid4())


@given(
    minutes=st.lists(
        st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6, unique=True
    ),
    order=st.randoms(use_true_random=False),
)
def test_any_arrival_order_of_the_same_snapshots_ends_at_the_newest(
    minutes: list[int], order: object
) -> None:
    customer_id = uuid.uuid4()
    events = [updated(customer_id, m, f"v{m}@example.com") for m in minutes]
    order.shuffle(events)  # type: ignore[attr-defined]
    uow = FakeIdentityUnitOfWork()

    for event in events:
        run_without_io(record_customer(uow, event))

    newest = max(minutes)
    stored = uow.customers.rows[customer_id]
    assert (stored.email, stored.source_updated_at) == (f"v{newest}@example.com", at(newest))
