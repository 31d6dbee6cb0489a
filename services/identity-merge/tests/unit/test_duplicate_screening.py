"""Duplicate screening (`refresh_matching`) and batch decisions, on in-memory fakes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.duplicates import MERGE_LANDING_WINDOW, MatchPolicy, ordered_pair
from patron_identity.domain.matching import MatchModel, PairDecision, prepare
from patron_identity.domain.resolution import Identifier
from patron_identity.service.matching import (
    apply_pair_decisions,
    mark_not_duplicates,
    refresh_matching,
)
from patron_shared.events import Contract, DuplicateSuspected, MergeCustomers, MergeDecided
from patron_shared.testing import run_without_io

from .fakes import FakeIdentityUnitOfWork

JOINED = datetime(2026, 1, 1, tzinfo=UTC)


def person(
    *,
    first: str | None = "Ann",
    last: str | None = "Smith",
    email: str | None = None,
    phone: str | None = None,
    born: date | None = None,
    postcode: str | None = None,
    joined_days: int = 0,
    customer_id: uuid.UUID | None = None,
) -> IdentityCustomer:
    return IdentityCustomer(
        customer_id=customer_id or uuid.uuid4(),
        source_updated_at=JOINED,
        email=email,
        phone=phone,
        first_name=first,
        last_name=last,
        date_of_birth=born,
        postcode=postcode,
        created_at=JOINED + timedelta(days=joined_days),
    )


async def _store_and_screen(uow: FakeIdentityUnitOfWork, customer: IdentityCustomer) -> None:
    async with uow:
        await uow.customers.save(customer)
        await refresh_matching(uow, customer)
        await uow.commit()


def arrive(uow: FakeIdentityUnitOfWork, *customers: IdentityCustomer) -> None:
    for customer in customers:
        run_without_io(_store_and_screen(uow, customer))


def of_type(uow: FakeIdentityUnitOfWork, kind: type[Contract]) -> list[Any]:
    return [event for event in uow.published if isinstance(event, kind)]


def probability(a: IdentityCustomer, b: IdentityCustomer) -> float:
    return (
        MatchModel.default()
        .score(prepare(a.person_record()), prepare(b.person_record()))
        .probability
    )


def test_a_shared_email_merges_the_newer_customer_into_the_older_one_by_default() -> None:
    uow = FakeIdentityUnitOfWork()
    older = person(email="ann@example.com", joined_days=0)
    newer = person(email="Ann@Example.com", first="Annie", joined_days=5)

    arrive(uow, newer, older)  # the older one is screened last: it still survives

    [command] = of_type(uow, MergeCustomers)
    assert (command.customer_id, command.secondary_id) == (older.customer_id, newer.customer_id)
    assert (command.requested_by, command.rule) == ("auto", "exact:email")
    [decided] = of_type(uow, MergeDecided)
    assert (decided.decision, decided.decided_by, decided.suggestion_id) == (
        "merge",
        "auto",
        command.suggestion_id,
    )
    suggestion = uow.suggestions.rows[command.suggestion_id]
    assert (suggestion.status, suggestion.primary_id) == ("accepted", older.customer_id)
    assert of_type(uow, DuplicateSuspected) == []


def test_a_shared_landline_under_another_first_name_goes_to_review_even_when_merging() -> None:
    uow = FakeIdentityUnitOfWork()
    mark = person(phone="+1 512 740 2532", first="Mark", last="Miller", joined_days=0)
    helen = person(phone="(512) 740-2532", first="Helen", last="Miller", joined_days=3)

    arrive(uow, mark, helen)

    assert of_type(uow, MergeCustomers) == []
    [suspected] = of_type(uow, DuplicateSuspected)
    [suggestion] = uow.suggestions.rows.values()
    assert (suggestion.status, suggestion.rule) == ("pending", "exact:phone")
    levels = {e.field: e.level for e in suspected.explanation}
    assert levels["first_name"] == "different"


def test_a_shared_phone_goes_to_review_when_the_tenant_reviews_exact_matches() -> None:
    uow = FakeIdentityUnitOfWork()
    uow.match_policies.policy = MatchPolicy(exact_match="review")
    first = person(phone="+1 415 555 0111")
    second = person(phone="(415) 555-0111", first="Bob", last="Jones")

    arrive(uow, first, second)

    assert of_type(uow, MergeCustomers) == []
    [suspected] = of_type(uow, DuplicateSuspected)
    pair = ordered_pair(first.customer_id, second.customer_id)
    assert (suspected.customer_id, suspected.candidate_customer_id) == pair
    [suggestion] = uow.suggestions.rows.values()
    assert (suggestion.status, suggestion.rule, suggestion.pair) == ("pending", "exact:phone", pair)
    assert {e.field for e in suspected.explanation} >= {"first_name", "last_name", "phone"}


def test_a_pair_between_the_thresholds_is_queued_for_review() -> None:
    uow = FakeIdentityUnitOfWork()
    a, b = person(born=date(1990, 4, 12)), person(first="Anne", born=date(1990, 4, 12))
    score = probability(a, b)
    uow.match_policies.policy = MatchPolicy(
        auto_merge_threshold=min(1.0, score + (1 - score) / 2), review_threshold=score
    )

    arrive(uow, a, b)

    [suspected] = of_type(uow, DuplicateSuspected)
    assert suspected.score == score
    assert of_type(uow, MergeCustomers) == []


def test_a_pair_at_the_automatic_threshold_is_merged_probabilistically() -> None:
    uow = FakeIdentityUnitOfWork()
    a, b = person(postcode="94107"), person(postcode="94107", joined_days=1)
    uow.match_policies.policy = MatchPolicy(
        auto_merge_threshold=probability(a, b), review_threshold=0.5
    )

    arrive(uow, a, b)

    [command] = of_type(uow, MergeCustomers)
    assert (command.customer_id, command.secondary_id, command.rule) == (
        a.customer_id,
        b.customer_id,
        "probabilistic",
    )


def test_a_pair_below_the_review_threshold_is_left_alone() -> None:
    uow = FakeIdentityUnitOfWork()
    a, b = person(), person()
    uow.match_policies.policy = MatchPolicy(
        auto_merge_threshold=1.0, review_threshold=min(1.0, probability(a, b) + 1e-6)
    )

    arrive(uow, a, b)

    assert uow.published == []
    assert uow.suggestions.rows == {}


def test_a_rejected_pair_is_never_suggested_again() -> None:
    uow = FakeIdentityUnitOfWork()
    a, b = person(email="ann@example.com"), person(email="ann@example.com", joined_days=1)
    run_without_io(mark_not_duplicates(uow, b.customer_id, a.customer_id, decided_by="u-1"))

    arrive(uow, a, b, replace(b, first_name="Annie"), replace(a, phone="+14155550111"))

    assert uow.published == []
    assert uow.suggestions.rows == {}


def test_a_pending_pair_is_suggested_once_however_often_it_is_screened() -> None:
    uow = FakeIdentityUnitOfWork()
    uow.match_policies.policy = MatchPolicy(exact_match="review")
    a, b = person(email="ann@example.com"), person(email="ann@example.com")

    arrive(uow, a, b, a, replace(b, first_name="Annie"))

    assert len(of_type(uow, DuplicateSuspected)) == 1
    assert len(uow.suggestions.rows) == 1


def test_customers_created_at_the_same_time_keep_the_lower_id() -> None:
    uow = FakeIdentityUnitOfWork()
    low, high = sorted((uuid.uuid4(), uuid.uuid4()))
    a = person(email="ann@example.com", customer_id=high)
    b = person(email="ann@example.com", customer_id=low)

    arrive(uow, a, b)

    [command] = of_type(uow, MergeCustomers)
    assert (command.customer_id, command.secondary_id) == (low, high)


def test_a_customer_matching_several_older_ones_is_merged_once_into_the_oldest() -> None:
    uow = FakeIdentityUnitOfWork()
    uow.match_policies.policy = MatchPolicy(exact_match="review")
    oldest = person(email="ann@example.com", joined_days=0)
    other = person(phone="+14155550111", first="Annie", joined_days=1)
    arrive(uow, oldest, other)
    uow.match_policies.policy = MatchPolicy(exact_match="merge")
    newest = person(email="ann@example.com", phone="+14155550111", joined_days=2)

    arrive(uow, newest)

    commands = of_type(uow, MergeCustomers)
    assert {(c.customer_id, c.secondary_id) for c in commands} == {
        (oldest.customer_id, newest.customer_id),
        (oldest.customer_id, other.customer_id),
    }


def test_the_owner_of_a_customers_email_is_its_candidate_even_with_another_email_on_file() -> None:
    uow = FakeIdentityUnitOfWork()
    owner = person(email="ann.work@example.com", joined_days=0)
    uow.identifiers.owned[Identifier("email", "ann@example.com")] = owner.customer_id
    arrive(uow, owner)
    newcomer = person(email="ann@example.com", first="Annie", joined_days=1)

    arrive(uow, newcomer)

    [command] = of_type(uow, MergeCustomers)
    assert (command.customer_id, command.secondary_id, command.rule) == (
        owner.customer_id,
        newcomer.customer_id,
        "exact:email",
    )


def test_a_key_held_by_more_customers_than_the_block_size_is_ignored() -> None:
    uow = FakeIdentityUnitOfWork()
    uow.match_policies.policy = MatchPolicy(exact_match="review", max_block_size=2)
    shared_inbox = [person(email="shop@example.com", first=name) for name in ("A", "B", "C")]

    arrive(uow, *shared_inbox)

    # the first two met before the block grew past two; the third never meets anyone
    suggested = {s.pair for s in uow.suggestions.rows.values()}
    assert suggested == {ordered_pair(shared_inbox[0].customer_id, shared_inbox[1].customer_id)}


def test_a_deleted_customer_leaves_the_index_and_its_pending_suggestions_are_superseded() -> None:
    uow = FakeIdentityUnitOfWork()
    uow.match_policies.policy = MatchPolicy(exact_match="review")
    a, b = person(email="ann@example.com"), person(email="ann@example.com")
    arrive(uow, a, b)

    arrive(uow, replace(b, deleted_at=JOINED))
    arrive(uow, person(email="ann@example.com"))  # meets a only

    statuses = sorted((s.status, b.customer_id in s.pair) for s in uow.suggestions.rows.values())
    assert statuses == [("pending", False), ("superseded", True)]
    assert b.customer_id not in uow.match_keys.keys


def test_a_merged_away_customer_is_neither_indexed_nor_suggested() -> None:
    uow = FakeIdentityUnitOfWork()
    survivor = person(email="ann@example.com")
    merged = replace(person(email="ann@example.com"), merged_into=survivor.customer_id)

    arrive(uow, merged, survivor)

    assert uow.published == []
    assert set(uow.match_keys.keys) == {survivor.customer_id}


@settings(max_examples=60, deadline=None)
@given(
    emails=st.tuples(*[st.sampled_from([None, "ann@example.com", "bob@example.com"])] * 2),
    firsts=st.tuples(*[st.sampled_from(["Ann", "Anne", "Bob"])] * 2),
    postcodes=st.tuples(*[st.sampled_from([None, "94107"])] * 2),
    joined=st.tuples(*[st.integers(min_value=0, max_value=2)] * 2),
    exact_match=st.sampled_from(["merge", "review"]),
)
def test_the_decision_for_a_pair_does_not_depend_on_which_customer_arrived_first(
    emails: tuple[str | None, str | None],
    firsts: tuple[str, str],
    postcodes: tuple[str | None, str | None],
    joined: tuple[int, int],
    exact_match: str,
) -> None:
    pair = [
        person(email=email, first=first, postcode=postcode, joined_days=days)
        for email, first, postcode, days in zip(emails, firsts, postcodes, joined, strict=True)
    ]

    def outcome(order: list[IdentityCustomer]) -> tuple[object, ...]:
        uow = FakeIdentityUnitOfWork()
        uow.match_policies.policy = MatchPolicy(exact_match=exact_match)  # type: ignore[arg-type]
        arrive(uow, *order)
        return (
            sorted((c.customer_id, c.secondary_id, c.rule) for c in of_type(uow, MergeCustomers)),
            sorted(
                (s.customer_id, s.candidate_customer_id, s.score)
                for s in of_type(uow, DuplicateSuspected)
            ),
        )

    assert outcome(pair) == outcome(pair[::-1])


def _decision(a: IdentityCustomer, b: IdentityCustomer, decision: str) -> PairDecision:
    left, right = sorted((str(a.customer_id), str(b.customer_id)))
    score = MatchModel.default().score(prepare(a.person_record()), prepare(b.person_record()))
    return PairDecision(left=left, right=right, score=score, decision=decision)  # type: ignore[arg-type]


def test_a_batch_merges_each_cluster_into_its_oldest_customer_and_queues_its_reviews() -> None:
    uow = FakeIdentityUnitOfWork()
    oldest, middle, newest = (person(postcode="94107", joined_days=d) for d in (0, 1, 2))
    lone, stranger = person(first="Bob", joined_days=0), person(first="Rob", joined_days=3)
    rejected_a, rejected_b = person(first="Cy"), person(first="Cy")
    for customer in (oldest, middle, newest, lone, stranger, rejected_a, rejected_b):
        uow.customers.rows[customer.customer_id] = customer
    run_without_io(
        mark_not_duplicates(uow, rejected_a.customer_id, rejected_b.customer_id, decided_by="u")
    )
    decisions = [
        _decision(newest, middle, "merge"),
        _decision(middle, oldest, "merge"),
        _decision(lone, stranger, "review"),
        _decision(newest, stranger, "review"),  # newest is merged away: nothing to review
        _decision(rejected_a, rejected_b, "merge"),
    ]

    async def apply() -> Any:
        async with uow:
            applied = await apply_pair_decisions(uow, decisions)
            await uow.commit()
        return applied

    applied = run_without_io(apply())
    again = run_without_io(apply())

    merges = {(c.customer_id, c.secondary_id) for c in of_type(uow, MergeCustomers)}
    assert merges == {
        (oldest.customer_id, middle.customer_id),
        (oldest.customer_id, newest.customer_id),
    }
    [suspected] = of_type(uow, DuplicateSuspected)
    assert {suspected.customer_id, suspected.candidate_customer_id} == {
        lone.customer_id,
        stranger.customer_id,
    }
    assert (applied.merges, applied.suggestions, applied.skipped) == (2, 1, 2)
    assert (again.merges, again.suggestions) == (0, 0)


def test_a_merge_the_profile_never_applied_stops_shielding_its_customer_after_the_window() -> None:
    uow = FakeIdentityUnitOfWork()
    older = person(email="ann@example.com", joined_days=0)
    newer = person(email="ann@example.com", phone="+14155550101", joined_days=1)
    arrive(uow, older, newer)
    [accepted] = [s for s in uow.suggestions.rows.values() if s.status == "accepted"]
    assert accepted.secondary_id == newer.customer_id
    third = person(first="Ann", phone="+14155550101", joined_days=2)

    arrive(uow, third)  # the merge is on its way: the merged-away customer is left out
    assert not [s for s in of_type(uow, MergeCustomers) if s.secondary_id == third.customer_id]

    # the profile refused that merge: an hour on, the customer takes part again
    assert accepted.decided_at is not None
    accepted.decided_at -= MERGE_LANDING_WINDOW + timedelta(minutes=1)
    arrive(uow, replace(third, source_updated_at=JOINED + timedelta(days=3)))
    pairs = {frozenset((c.customer_id, c.secondary_id)) for c in of_type(uow, MergeCustomers)}
    assert frozenset((newer.customer_id, third.customer_id)) in pairs
