"""Unmerge: a merged customer gets back what the merge took from it."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.matching import NormalizationRules
from patron_identity.domain.resolution import Identifier
from patron_identity.service import customers as customer_use_cases
from patron_identity.service import unmerge as unmerge_use_cases
from patron_identity.service.customers import merge_customers, record_customer
from patron_identity.service.unmerge import UnmergeRequest, unmerge
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import (
    CustomerCreated,
    CustomersMerged,
    CustomerSnapshot,
    CustomersUnmerged,
)
from patron_shared.testing import run_without_io

from .fakes import FakeIdentityUnitOfWork

JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LATER = JOINED + timedelta(days=7)
RULES = NormalizationRules()


@pytest.fixture(autouse=True)
def matching(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[object]]:
    """Calls into matching: screened customers and pairs marked as different people."""
    calls: dict[str, list[object]] = {"refreshed": [], "not_duplicates": []}

    async def refresh(uow: object, customer: IdentityCustomer) -> None:
        calls["refreshed"].append(customer.customer_id)

    async def not_duplicates(
        uow: object, first: uuid.UUID, second: uuid.UUID, *, decided_by: str
    ) -> None:
        calls["not_duplicates"].append((first, second, decided_by))

    for module in (customer_use_cases, unmerge_use_cases):
        monkeypatch.setattr(module, "refresh_matching", refresh)
    monkeypatch.setattr(unmerge_use_cases, "mark_not_duplicates", not_duplicates)
    return calls


def created(customer_id: uuid.UUID, email: str, phone: str | None = None) -> CustomerCreated:
    return CustomerCreated(
        customer_id=customer_id,
        customer=CustomerSnapshot(email=email, phone=phone, created_at=JOINED, updated_at=JOINED),
    )


def merged(survivor: uuid.UUID, gone: uuid.UUID, days: int = 1) -> CustomersMerged:
    return CustomersMerged(
        customer_id=survivor,
        merged_customer_id=gone,
        merged_at=JOINED + timedelta(days=days),
        merged_by="auto",
        merge_id=uuid.uuid4(),
        rule="exact:email",
        score=1.0,
    )


async def merged_pair(
    uow: FakeIdentityUnitOfWork,
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    survivor, gone = uuid.uuid4(), uuid.uuid4()
    await record_customer(uow, created(survivor, "ann@example.com"), rules=RULES)
    await record_customer(uow, created(gone, "ann.lee@example.com", "+14155550123"), rules=RULES)
    event = merged(survivor, gone)
    await merge_customers(uow, event)
    assert event.merge_id is not None
    return survivor, gone, event.merge_id


async def test_an_unmerge_gives_the_merged_customer_its_identifiers_back(
    matching: dict[str, list[object]],
) -> None:
    uow = FakeIdentityUnitOfWork()
    survivor, gone, merge_id = await merged_pair(uow)

    merge = await unmerge(uow, UnmergeRequest(merge_id=merge_id), unmerged_by="u-7", now=LATER)

    assert (merge.unmerged_at, merge.unmerged_by) == (LATER, "u-7")
    assert [i.value for i in await uow.identifiers.of_customer(gone)] == [
        "ann.lee@example.com",
        "+14155550123",
    ]
    assert [i.value for i in await uow.identifiers.of_customer(survivor)] == ["ann@example.com"]
    assert uow.customers.rows[gone].merged_into is None
    assert uow.lineage.merges[merge_id].unmerged_by == "u-7"
    assert matching["not_duplicates"] == [(survivor, gone, "u-7")]
    assert set(matching["refreshed"][-2:]) == {survivor, gone}


async def test_an_unmerge_announces_what_moved_and_lands_in_the_audit_log() -> None:
    uow = FakeIdentityUnitOfWork()
    survivor, gone, merge_id = await merged_pair(uow)

    await unmerge(uow, UnmergeRequest(merge_id=merge_id), unmerged_by="u-7", now=LATER)

    (event,) = [e for e in uow.published if isinstance(e, CustomersUnmerged)]
    assert (event.customer_id, event.restored_customer_id, event.unmerged_by) == (
        survivor,
        gone,
        "u-7",
    )
    assert {(i.kind, i.value, i.source) for i in event.identifiers} == {
        ("email", "ann.lee@example.com", "profile"),
        ("phone", "+14155550123", "profile"),
    }
    assert uow.audit.entries == [
        {
            "actor": "u-7",
            "action": "identity.unmerge",
            "customer_id": survivor,
            "merge_id": str(merge_id),
            "restored_customer_id": str(gone),
            "identifiers_moved": 2,
        }
    ]


async def test_the_pair_names_its_merge() -> None:
    uow = FakeIdentityUnitOfWork()
    survivor, gone, merge_id = await merged_pair(uow)

    merge = await unmerge(
        uow, UnmergeRequest(survivor_id=survivor, merged_customer_id=gone), unmerged_by="u-7"
    )

    assert merge.merge_id == merge_id


async def test_an_identifier_the_survivor_lost_since_the_merge_stays_where_it_is() -> None:
    uow = FakeIdentityUnitOfWork()
    survivor, _, merge_id = await merged_pair(uow)
    await uow.identifiers.release(survivor, [Identifier("phone", "+14155550123")])

    await unmerge(uow, UnmergeRequest(merge_id=merge_id), unmerged_by="u-7")

    (event,) = [e for e in uow.published if isinstance(e, CustomersUnmerged)]
    assert [i.value for i in event.identifiers] == ["ann.lee@example.com"]


async def test_an_unknown_merge_is_not_found() -> None:
    uow = FakeIdentityUnitOfWork()
    survivor, gone, _ = await merged_pair(uow)

    with pytest.raises(NotFound):
        await unmerge(uow, UnmergeRequest(merge_id=uuid.uuid4()), unmerged_by="u-7")
    reversed_pair = UnmergeRequest(survivor_id=gone, merged_customer_id=survivor)
    with pytest.raises(NotFound):
        await unmerge(uow, reversed_pair, unmerged_by="u-7")


async def test_a_merge_is_undone_once() -> None:
    uow = FakeIdentityUnitOfWork()
    survivor, gone, merge_id = await merged_pair(uow)
    await unmerge(uow, UnmergeRequest(merge_id=merge_id), unmerged_by="u-7")
    published = list(uow.published)

    for request in (
        UnmergeRequest(merge_id=merge_id),
        UnmergeRequest(survivor_id=survivor, merged_customer_id=gone),
    ):
        with pytest.raises(Conflict):
            await unmerge(uow, request, unmerged_by="u-8")

    assert uow.published == published
    assert uow.lineage.merges[merge_id].unmerged_by == "u-7"


async def test_a_merge_whose_survivor_was_merged_away_since_waits_for_that_unmerge() -> None:
    uow = FakeIdentityUnitOfWork()
    survivor, _, first_merge = await merged_pair(uow)
    final = uuid.uuid4()
    await record_customer(uow, created(final, "final@example.com"), rules=RULES)
    later = merged(final, survivor, days=2)
    await merge_customers(uow, later)

    with pytest.raises(Conflict) as refused:
        await unmerge(uow, UnmergeRequest(merge_id=first_merge), unmerged_by="u-7")
    assert refused.value.extensions["merged_into"] == str(final)

    assert later.merge_id is not None
    await unmerge(uow, UnmergeRequest(merge_id=later.merge_id), unmerged_by="u-7")
    await unmerge(uow, UnmergeRequest(merge_id=first_merge), unmerged_by="u-7")
    assert [i.value for i in await uow.identifiers.of_customer(final)] == ["final@example.com"]
    assert [i.value for i in await uow.identifiers.of_customer(survivor)] == ["ann@example.com"]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"survivor_id": uuid.uuid4()},
        {"merge_id": uuid.uuid4(), "survivor_id": uuid.uuid4()},
    ],
)
def test_a_request_names_a_merge_or_a_whole_pair(fields: dict[str, uuid.UUID]) -> None:
    with pytest.raises(InvalidInput):
        UnmergeRequest(**fields)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(
    survivor_emails=st.sets(st.sampled_from("abcdefgh"), max_size=4),
    merged_emails=st.sets(st.sampled_from("abcdefgh"), max_size=4),
)
def test_merge_then_unmerge_leaves_every_identifier_with_its_owner_before_the_merge(
    survivor_emails: set[str], merged_emails: set[str]
) -> None:
    uow, survivor, gone = FakeIdentityUnitOfWork(), uuid.uuid4(), uuid.uuid4()
    for letter in sorted(survivor_emails):
        run_without_io(
            uow.identifiers.claim(Identifier("email", f"{letter}@x.io"), survivor, source="api")
        )
    for letter in sorted(merged_emails):
        run_without_io(
            uow.identifiers.claim(Identifier("email", f"{letter}@x.io"), gone, source="api")
        )
    before = dict(uow.identifiers.owned)
    event = merged(survivor, gone)

    run_without_io(merge_customers(uow, event))
    assert set(uow.identifiers.owned.values()) <= {survivor}
    assert event.merge_id is not None
    run_without_io(unmerge(uow, UnmergeRequest(merge_id=event.merge_id), unmerged_by="u-7"))

    assert uow.identifiers.owned == before
