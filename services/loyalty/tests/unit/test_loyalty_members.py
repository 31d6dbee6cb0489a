import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_loyalty.service.members import close_membership, enroll_member, get_member
from patron_shared.errors import NotFound
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerSnapshot, CustomerUpdated
from patron_shared.testing import run_without_io

from .fakes import FakeLoyaltyUnitOfWork

JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def snapshot(minutes_after_joining: int = 0) -> CustomerSnapshot:
    return CustomerSnapshot(
        email="ann@example.com",
        created_at=JOINED,
        updated_at=JOINED + timedelta(minutes=minutes_after_joining),
    )


def created(customer_id: uuid.UUID) -> CustomerCreated:
    return CustomerCreated(customer_id=customer_id, customer=snapshot())


def updated(customer_id: uuid.UUID, minutes: int) -> CustomerUpdated:
    return CustomerUpdated(
        customer_id=customer_id, changed_fields=["first_name"], customer=snapshot(minutes)
    )


def deleted(customer_id: uuid.UUID, minutes: int) -> CustomerDeleted:
    return CustomerDeleted(customer_id=customer_id, deleted_at=JOINED + timedelta(minutes=minutes))


async def test_a_created_customer_is_enrolled_as_an_active_member_since_its_creation() -> None:
    uow, customer_id = FakeLoyaltyUnitOfWork(), uuid.uuid4()

    await enroll_member(uow, created(customer_id))

    member = await get_member(uow, customer_id)
    assert member.status == "active"
    assert member.member_since == JOINED
    assert uow.commits == 1
    assert uow.published == []


async def test_a_deleted_customer_closes_the_membership_but_keeps_the_member() -> None:
    uow, customer_id = FakeLoyaltyUnitOfWork(), uuid.uuid4()
    await enroll_member(uow, created(customer_id))

    await close_membership(uow, deleted(customer_id, minutes=60))

    member = await get_member(uow, customer_id)
    assert member.status == "closed"
    assert member.closed_at == JOINED + timedelta(minutes=60)
    assert member.member_since == JOINED


async def test_an_update_seen_before_the_creation_enrolls_the_member() -> None:
    uow, customer_id = FakeLoyaltyUnitOfWork(), uuid.uuid4()

    await enroll_member(uow, updated(customer_id, minutes=5))
    await enroll_member(uow, created(customer_id))

    member = uow.members.rows[customer_id]
    assert member.status == "active"
    assert member.source_updated_at == JOINED + timedelta(minutes=5)


async def test_a_late_creation_does_not_reopen_a_closed_membership() -> None:
    uow, customer_id = FakeLoyaltyUnitOfWork(), uuid.uuid4()

    await close_membership(uow, deleted(customer_id, minutes=30))
    with pytest.raises(NotFound):
        await get_member(uow, customer_id)  # closed before anything else was known
    await enroll_member(uow, created(customer_id))

    member = await get_member(uow, customer_id)
    assert member.status == "closed"
    assert member.member_since == JOINED


async def test_an_older_snapshot_leaves_the_stored_membership_as_it_is() -> None:
    uow, customer_id = FakeLoyaltyUnitOfWork(), uuid.uuid4()
    await enroll_member(uow, updated(customer_id, minutes=10))
    writes = uow.members.writes

    await enroll_member(uow, updated(customer_id, minutes=3))
    await enroll_member(uow, updated(customer_id, minutes=10))

    assert uow.members.writes == writes
    assert uow.members.rows[customer_id].source_updated_at == JOINED + timedelta(minutes=10)
    assert uow.commits == 3  # each delivery still commits (its inbox claim)


async def test_closing_twice_keeps_the_first_closing_time() -> None:
    uow, customer_id = FakeLoyaltyUnitOfWork(), uuid.uuid4()
    await enroll_member(uow, created(customer_id))

    await close_membership(uow, deleted(customer_id, minutes=60))
    await close_membership(uow, deleted(customer_id, minutes=90))

    assert uow.members.rows[customer_id].closed_at == JOINED + timedelta(minutes=60)


async def test_an_unknown_member_is_not_found() -> None:
    with pytest.raises(NotFound):
        await get_member(FakeLoyaltyUnitOfWork(), uuid.uuid4())


@given(
    updates=st.lists(st.integers(min_value=0, max_value=10_000), max_size=6, unique=True),
    deletion=st.none() | st.integers(min_value=0, max_value=20_000),
    order=st.randoms(use_true_random=False),
)
def test_any_arrival_order_of_the_same_events_ends_in_the_same_membership(
    updates: list[int], deletion: int | None, order: object
) -> None:
    customer_id = uuid.uuid4()
    handlers = [(enroll_member, created(customer_id))]
    handlers += [(enroll_member, updated(customer_id, m)) for m in updates]
    if deletion is not None:
        handlers.append((close_membership, deleted(customer_id, deletion)))
    order.shuffle(handlers)  # type: ignore[attr-defined]
    uow = FakeLoyaltyUnitOfWork()

    for handler, event in handlers:
        run_without_io(handler(uow, event))  # type: ignore[operator]

    member = uow.members.rows[customer_id]
    assert member.member_since == JOINED
    newest = max([0, *updates, *([deletion] if deletion is not None else [])])
    assert member.source_updated_at == JOINED + timedelta(minutes=newest)
    if deletion is None:
        assert (member.status, member.closed_at) == ("active", None)
    else:
        assert (member.status, member.closed_at) == ("closed", JOINED + timedelta(minutes=deletion))
