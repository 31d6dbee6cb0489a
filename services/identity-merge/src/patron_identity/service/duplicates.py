"""The duplicate review queue and the tenant's match policy: one function per request.

A reviewer's decision is final for the pair: accepting asks the profile to merge the two
(`MergeCustomers`), rejecting records them as different people so screening never suggests
them again. Both are announced with `MergeDecided` and written to the audit log.
"""

from __future__ import annotations

import uuid

from patron_identity.domain.duplicates import (
    DuplicateSuggestion,
    ExactMatchPolicy,
    MatchPolicy,
    SuggestionCursor,
    SuggestionFilters,
    SuggestionSort,
)
from patron_identity.service.matching import emit_merge
from patron_identity.service.ports import CustomerUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import MergeDecided, utcnow


async def list_suggestions(
    uow: CustomerUnitOfWork,
    filters: SuggestionFilters,
    sort: SuggestionSort,
    *,
    after: SuggestionCursor | None,
    limit: int,
) -> tuple[list[DuplicateSuggestion], SuggestionCursor | None]:
    """One page of the queue, and the cursor of the next one (None on the last page)."""
    async with uow:
        found = await uow.suggestions.page(filters, sort, after=after, limit=limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return page, SuggestionCursor.after(page[-1], sort) if more else None


async def get_suggestion(uow: CustomerUnitOfWork, suggestion_id: uuid.UUID) -> DuplicateSuggestion:
    async with uow:
        suggestion = await uow.suggestions.get(suggestion_id)
    if suggestion is None:
        raise NotFound(f"duplicate suggestion {suggestion_id} not found")
    return suggestion


async def accept_suggestion(
    uow: CustomerUnitOfWork, suggestion_id: uuid.UUID, *, primary_id: uuid.UUID, decided_by: str
) -> DuplicateSuggestion:
    """Merge the pair into `primary_id` (409 unless pending, 422 if not one of the pair)."""
    async with uow:
        suggestion = await _locked_suggestion(uow, suggestion_id)
        secondary_id = suggestion.accept(primary_id, by=decided_by, at=utcnow())
        await uow.suggestions.save(suggestion)
        emit_merge(uow, suggestion, requested_by=decided_by)
        await uow.audit.record(
            actor=decided_by,
            action="duplicate.accept",
            customer_id=primary_id,
            details={"suggestion_id": str(suggestion.id), "secondary_id": str(secondary_id)},
            at=suggestion.decided_at,
        )
        await uow.commit()
    return suggestion


async def reject_suggestion(
    uow: CustomerUnitOfWork, suggestion_id: uuid.UUID, *, decided_by: str
) -> DuplicateSuggestion:
    """The pair is two people: never suggested again (409 unless pending)."""
    async with uow:
        suggestion = await _locked_suggestion(uow, suggestion_id)
        now = utcnow()
        suggestion.reject(by=decided_by, at=now)
        await uow.suggestions.save(suggestion)
        await uow.rejected_pairs.add(
            suggestion.pair, decided_by=decided_by, at=now, suggestion_id=suggestion.id
        )
        uow.emit(
            MergeDecided(
                customer_id=suggestion.first_id,
                secondary_id=suggestion.second_id,
                decision="reject",
                decided_by=decided_by,
                rule=suggestion.rule,
                score=suggestion.score,
                decided_at=now,
                suggestion_id=suggestion.id,
            )
        )
        await uow.audit.record(
            actor=decided_by,
            action="duplicate.reject",
            customer_id=suggestion.first_id,
            details={
                "suggestion_id": str(suggestion.id),
                "other_customer_id": str(suggestion.second_id),
            },
            at=now,
        )
        await uow.commit()
    return suggestion


async def get_policy(uow: CustomerUnitOfWork) -> MatchPolicy:
    async with uow:
        return await uow.match_policies.get()


async def set_policy(
    uow: CustomerUnitOfWork,
    *,
    exact_match: ExactMatchPolicy,
    auto_merge_threshold: float,
    review_threshold: float,
    updated_by: str,
) -> MatchPolicy:
    """The tenant's policy from now on; customers already screened are not re-screened."""
    async with uow:
        current = await uow.match_policies.get()
        policy = current.changed(
            exact_match=exact_match,
            auto_merge_threshold=auto_merge_threshold,
            review_threshold=review_threshold,
            by=updated_by,
            at=utcnow(),
        )
        await uow.match_policies.save(policy)
        await uow.audit.record(
            actor=updated_by,
            action="match_policy.update",
            customer_id=None,
            details={
                "exact_match": exact_match,
                "auto_merge_threshold": auto_merge_threshold,
                "review_threshold": review_threshold,
            },
            at=policy.updated_at,
        )
        await uow.commit()
    return policy


async def _locked_suggestion(
    uow: CustomerUnitOfWork, suggestion_id: uuid.UUID
) -> DuplicateSuggestion:
    suggestion = await uow.suggestions.get(suggestion_id, for_update=True)
    if suggestion is None:
        raise NotFound(f"duplicate suggestion {suggestion_id} not found")
    return suggestion
