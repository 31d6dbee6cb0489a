import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_segmentation.service.facts import delete_facts, get_facts, record_facts
from patron_shared.errors import NotFound
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerSnapshot, CustomerUpdated
from patron_shared.testing import run_without_io

from .fakes import FakeSegmentationUnitOfWork

REGISTERED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return REGISTERED + timedelta(minutes=minutes)


def snapshot(minutes: int = 0, tags: tuple[str, ...] = ("vip",)) -> CustomerSnapshot:
    return CustomerSnapshot(
        email="ann@example.com",
        tags=list(tags),
        accepts_marketing=True,
        created_at=REGISTERED,
        updated_at=at(minutes),
    )


def updated(customer_id: uuid.UUID, minutes: int, *tags: str) -> CustomerUpdated:
    return CustomerUpdated(
        customer_id=customer_id, changed_fields=["tags"], customer=snapshot(minutes, tags)
    )


async def test_a_created_customer_becomes_facts_registered_at_its_creation() -> None:
    uow, customer_id = FakeSegmentationUnitOfWork(), uuid.uuid4()

    await record_facts(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    facts = await get_facts(uow, customer_id)
    assert (facts.tags, facts.accepts_marketing, facts.status) == (["vip"], True, "active")
    assert facts.registered_at == REGISTERED
    # registered long ago and never ordered: dormant, and told so
    assert [(type(e).__name__, e.segment_key) for e in uow.published] == [
        ("SegmentEntered", "engagement_dormant")
    ]


async def test_a_newer_update_replaces_the_tags() -> None:
    uow, customer_id = FakeSegmentationUnitOfWork(), uuid.uuid4()
    await record_facts(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    await record_facts(uow, updated(customer_id, 5, "wholesale"))

    assert (await get_facts(uow, customer_id)).tags == ["wholesale"]


async def test_an_older_snapshot_does_not_overwrite_a_newer_one() -> None:
    uow, customer_id = FakeSegmentationUnitOfWork(), uuid.uuid4()
    await record_facts(uow, updated(customer_id, 10, "gold"))

    await record_facts(uow, updated(customer_id, 5, "silver"))
    await record_facts(uow, updated(customer_id, 10, "bronze"))  # same version: a repeat

    assert (await get_facts(uow, customer_id)).tags == ["gold"]
    assert uow.facts.writes == 1


async def test_a_deleted_customer_has_no_facts_any_more() -> None:
    uow, customer_id = FakeSegmentationUnitOfWork(), uuid.uuid4()
    await record_facts(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    await delete_facts(uow, CustomerDeleted(customer_id=customer_id, deleted_at=at(60)))

    with pytest.raises(NotFound):
        await get_facts(uow, customer_id)


async def test_a_creation_arriving_after_the_deletion_does_not_bring_the_facts_back() -> None:
    uow, customer_id = FakeSegmentationUnitOfWork(), uuid.uuid4()

    await delete_facts(uow, CustomerDeleted(customer_id=customer_id, deleted_at=at(60)))
    await record_facts(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    with pytest.raises(NotFound):
        await get_facts(uow, customer_id)


async def test_unknown_facts_are_not_found() -> None:
    with pytest.raises(NotFound):
        await get_facts(FakeSegmentationUnitOfWork(), uuid.uuid4())


@given(
    minutes=st.lists(
        st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6, unique=True
    ),
    deletion=st.none() | st.integers(min_value=10_001, max_value=20_000),
    order=st.randoms(use_true_random=False),
)
def test_any_arrival_order_of_the_same_events_ends_in_the_same_facts(
    minutes: list[int], deletion: int | None, order: object
) -> None:
    customer_id = uuid.uuid4()
    events = [(record_facts, updated(customer_id, m, f"t{m}")) for m in minutes]
    if deletion is not None:
        events.append(
            (delete_facts, CustomerDeleted(customer_id=customer_id, deleted_at=at(deletion)))
        )
    order.shuffle(events)  # type: ignore[attr-defined]
    uow = FakeSegmentationUnitOfWork()

    for handler, event in events:
        run_without_io(handler(uow, event))  # type: ignore[operator]

    if deletion is None:
        assert run_without_io(get_facts(uow, customer_id)).tags == [f"t{max(minutes)}"]
    else:
        assert uow.facts.rows[customer_id].deleted_at == at(deletion)
        with pytest.raises(NotFound):
            run_without_io(get_facts(uow, customer_id))
