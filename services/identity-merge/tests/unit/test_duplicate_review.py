"""The review queue's decisions, the match policy and resolve by name, on in-memory fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.duplicates import (
    DuplicateSuggestion,
    MatchPolicy,
    SuggestionCursor,
    SuggestionFilters,
    SuggestionSort,
)
from patron_identity.domain.matching import MatchModel, NormalizationRules, prepare
from patron_identity.domain.resolution import ResolveRequest
from patron_identity.service import duplicates as review
from patron_identity.service.matching import refresh_matching
from patron_identity.service.resolve import resolve
from patron_shared.errors import Conflict, InvalidInput
from patron_shared.events import MergeCustomers, MergeDecided, UpsertCustomerFromSource
from patron_shared.testing import run_without_io

from .fakes import FakeIdentityUnitOfWork

NOW = datetime(2026, 2, 1, tzinfo=UTC)
RULES = NormalizationRules()


def pending_suggestion(uow: FakeIdentityUnitOfWork, score: float = 0.9) -> DuplicateSuggestion:
    a, b = uuid.uuid4(), uuid.uuid4()
    evidence = MatchModel.default().score(
        prepare(IdentityCustomer(a, NOW, first_name="Ann").person_record()),
        prepare(IdentityCustomer(b, NOW, first_name="Ann").person_record()),
    )
    suggestion = DuplicateSuggestion.pending(a, b, evidence, rule="probabilistic", at=NOW)
    suggestion.score = score
    uow.suggestions.rows[suggestion.id] = suggestion
    return suggestion


def test_accepting_merges_the_other_customer_into_the_chosen_primary() -> None:
    uow = FakeIdentityUnitOfWork()
    suggestion = pending_suggestion(uow)
    primary, secondary = suggestion.second_id, suggestion.first_id

    accepted = run_without_io(
        review.accept_suggestion(uow, suggestion.id, primary_id=primary, decided_by="rev-1")
    )

    assert (accepted.status, accepted.primary_id, accepted.decided_by) == (
        "accepted",
        primary,
        "rev-1",
    )
    command, decided = uow.published
    assert isinstance(command, MergeCustomers)
    assert isinstance(decided, MergeDecided)
    assert (command.customer_id, command.secondary_id, command.requested_by) == (
        primary,
        secondary,
        "rev-1",
    )
    assert (decided.decision, decided.decided_by, decided.suggestion_id) == (
        "merge",
        "rev-1",
        suggestion.id,
    )
    [entry] = uow.audit.entries
    assert (entry["actor"], entry["action"]) == ("rev-1", "duplicate.accept")


def test_a_primary_outside_the_pair_is_refused_naming_the_field() -> None:
    uow = FakeIdentityUnitOfWork()
    suggestion = pending_suggestion(uow)

    with pytest.raises(InvalidInput) as refused:
        run_without_io(
            review.accept_suggestion(uow, suggestion.id, primary_id=uuid.uuid4(), decided_by="r")
        )

    assert refused.value.field == "primary_id"
    assert uow.published == []
    assert uow.suggestions.rows[suggestion.id].status == "pending"


def test_a_decided_suggestion_cannot_be_decided_again() -> None:
    uow = FakeIdentityUnitOfWork()
    suggestion = pending_suggestion(uow)
    run_without_io(review.reject_suggestion(uow, suggestion.id, decided_by="rev-1"))

    with pytest.raises(Conflict):
        run_without_io(
            review.accept_suggestion(
                uow, suggestion.id, primary_id=suggestion.first_id, decided_by="rev-2"
            )
        )


def test_rejecting_records_the_pair_as_two_people_and_announces_it() -> None:
    uow = FakeIdentityUnitOfWork()
    suggestion = pending_suggestion(uow)

    run_without_io(review.reject_suggestion(uow, suggestion.id, decided_by="rev-1"))

    [decided] = uow.published
    assert isinstance(decided, MergeDecided)
    assert (decided.decision, decided.customer_id, decided.secondary_id) == (
        "reject",
        suggestion.first_id,
        suggestion.second_id,
    )
    assert uow.rejected_pairs.decided_by == {suggestion.pair: "rev-1"}


def test_the_queue_pages_by_score_with_a_cursor_and_filters() -> None:
    uow = FakeIdentityUnitOfWork()
    scores = [0.55, 0.9, 0.7, 0.95, 0.6]
    made = [pending_suggestion(uow, score) for score in scores]
    sort = SuggestionSort.parse("-score")

    seen: list[float] = []
    after: SuggestionCursor | None = None
    while True:
        page, after = run_without_io(
            review.list_suggestions(uow, SuggestionFilters(), sort, after=after, limit=2)
        )
        seen += [s.score for s in page]
        if after is None:
            break
        after = SuggestionCursor.decode(after.encode(), sort)
    filtered, _ = run_without_io(
        review.list_suggestions(
            uow,
            SuggestionFilters(min_score=0.65, customer_id=made[2].first_id),
            sort,
            after=None,
            limit=10,
        )
    )

    assert seen == sorted(scores, reverse=True)
    assert [s.id for s in filtered] == [made[2].id]


def test_a_cursor_of_another_sort_is_refused() -> None:
    cursor = SuggestionCursor(SuggestionSort.parse("-score"), 0.5, None, uuid.uuid4())

    with pytest.raises(InvalidInput) as refused:
        SuggestionCursor.decode(cursor.encode(), SuggestionSort.parse("created_at"))

    assert refused.value.field == "cursor"


@pytest.mark.parametrize(
    ("auto_merge", "review_at", "field"),
    [
        (0.8, 0.9, "review_threshold"),
        (1.5, 0.5, "auto_merge_threshold"),
        (0.9, 0, "review_threshold"),
    ],
)
def test_a_policy_with_thresholds_out_of_order_is_refused_naming_the_field(
    auto_merge: float, review_at: float, field: str
) -> None:
    uow = FakeIdentityUnitOfWork()

    with pytest.raises(InvalidInput) as refused:
        run_without_io(
            review.set_policy(
                uow,
                exact_match="merge",
                auto_merge_threshold=auto_merge,
                review_threshold=review_at,
                updated_by="admin-1",
            )
        )

    assert refused.value.field == field
    assert uow.match_policies.policy == MatchPolicy()


def test_a_policy_change_keeps_the_settings_level_rules_and_is_audited() -> None:
    uow = FakeIdentityUnitOfWork()
    uow.match_policies.policy = MatchPolicy(rules=NormalizationRules(default_phone_region="GB"))

    policy = run_without_io(
        review.set_policy(
            uow,
            exact_match="review",
            auto_merge_threshold=0.99,
            review_threshold=0.7,
            updated_by="admin-1",
        )
    )

    assert (policy.exact_match, policy.thresholds.auto_merge, policy.thresholds.review) == (
        "review",
        0.99,
        0.7,
    )
    assert policy.rules.default_phone_region == "GB"
    assert uow.audit.entries[0]["action"] == "match_policy.update"


def _known_customer(uow: FakeIdentityUnitOfWork) -> IdentityCustomer:
    customer = IdentityCustomer(
        uuid.uuid4(),
        NOW,
        email="ann@example.com",
        first_name="Ann",
        last_name="Smith",
        date_of_birth=date(1990, 4, 12),
        address1="12 High Street",
        postcode="94107",
        created_at=NOW,
    )

    async def store() -> None:
        async with uow:
            await uow.customers.save(customer)
            await refresh_matching(uow, customer)
            await uow.commit()

    run_without_io(store())
    return customer


def test_a_name_with_address_and_birth_date_resolves_to_the_probable_customer() -> None:
    uow = FakeIdentityUnitOfWork()
    known = _known_customer(uow)
    request = ResolveRequest(
        source="pos",
        first_name="Ann",
        last_name="Smith",
        date_of_birth=date(1990, 4, 12),
        address1="12 High St",
        postcode="94107",
    )

    resolution = run_without_io(resolve(uow, request, rules=RULES))

    assert (resolution.customer_id, resolution.matched_by, resolution.created) == (
        known.customer_id,
        "probabilistic",
        False,
    )
    assert resolution.score is not None
    assert resolution.score >= MatchPolicy().auto_merge_threshold
    assert uow.published == []


def test_a_new_email_is_claimed_by_the_probable_customer() -> None:
    uow = FakeIdentityUnitOfWork()
    known = _known_customer(uow)
    request = ResolveRequest(
        source="pos",
        email="ann.smith@work.example",
        first_name="Ann",
        last_name="Smith",
        date_of_birth=date(1990, 4, 12),
        postcode="94107",
    )

    resolution = run_without_io(resolve(uow, request, rules=RULES))
    again = run_without_io(resolve(uow, ResolveRequest("api", email=request.email), rules=RULES))

    assert resolution.matched_by == "probabilistic"
    assert (again.customer_id, again.matched_by) == (known.customer_id, "email")


def test_a_name_that_matches_nobody_well_enough_creates_the_customer_with_its_address() -> None:
    uow = FakeIdentityUnitOfWork()
    _known_customer(uow)
    request = ResolveRequest(
        source="pos", first_name="Ann", last_name="Smith", postcode="10001", country="US"
    )

    resolution = run_without_io(resolve(uow, request, rules=RULES))

    assert (resolution.created, resolution.matched_by) == (True, None)
    [command] = uow.published
    assert isinstance(command, UpsertCustomerFromSource)
    assert command.address is not None
    assert (command.address.pincode, command.address.country) == ("10001", "US")


def test_a_name_alone_is_not_enough_to_resolve() -> None:
    with pytest.raises(InvalidInput) as refused:
        ResolveRequest(source="api", first_name="Ann", last_name="Smith").identifiers(RULES)

    assert refused.value.field == "body"
