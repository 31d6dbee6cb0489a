"""`/api/v1/identity/duplicates`: the duplicate review queue.

Reading needs `identity:read`; accepting or rejecting needs `identity:write` and is audited.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.duplicates import (
    DuplicateSuggestion,
    SuggestionCursor,
    SuggestionFilters,
    SuggestionSort,
    SuggestionStatus,
)
from patron_identity.service import duplicates as use_cases
from patron_shared.auth import Scope
from patron_shared.http import CursorMeta, CursorPage, api_router, unit_of_work

Reader = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_READ))
]
Reviewer = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_WRITE))
]
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


class FieldComparisonOut(BaseModel):
    field: str = Field(examples=["email"])
    level: str = Field(examples=["exact"])
    weight: float = Field(description="log2 Bayes factor this comparison added to the score")


class DuplicateOut(BaseModel):
    id: uuid.UUID
    customer_ids: list[uuid.UUID] = Field(
        min_length=2, max_length=2, description="the two customers, lower id first"
    )
    score: float = Field(description="probability that both are the same person")
    match_weight: float | None = Field(description="total match weight behind `score`")
    rule: str = Field(examples=["probabilistic", "exact:email", "exact:phone"])
    explanation: list[FieldComparisonOut]
    status: SuggestionStatus
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None = Field(description='who decided: a user, or "auto"')
    primary_id: uuid.UUID | None = Field(description="the customer kept, once accepted")

    @classmethod
    def of(cls, suggestion: DuplicateSuggestion) -> "DuplicateOut":
        return cls(
            id=suggestion.id,
            customer_ids=list(suggestion.pair),
            score=suggestion.score,
            match_weight=suggestion.match_weight,
            rule=suggestion.rule,
            explanation=[
                FieldComparisonOut(field=e.field, level=e.level, weight=e.weight)
                for e in suggestion.explanation
            ],
            status=suggestion.status,
            created_at=suggestion.created_at,
            decided_at=suggestion.decided_at,
            decided_by=suggestion.decided_by,
            primary_id=suggestion.primary_id,
        )


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    primary_id: uuid.UUID = Field(
        description="which of the two customers is kept; the other is merged into it"
    )


async def suggestion_filters(
    *,
    status: SuggestionStatus = "pending",
    customer_id: Annotated[
        uuid.UUID | None, Query(description="suggestions involving this customer")
    ] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    rule: Annotated[
        str | None, Query(min_length=1, max_length=100, examples=["probabilistic"])
    ] = None,
) -> SuggestionFilters:
    return SuggestionFilters(status=status, customer_id=customer_id, min_score=min_score, rule=rule)


async def suggestion_sort(
    sort: Annotated[
        str,
        Query(description="score or created_at; prefix `-` for descending", examples=["-score"]),
    ] = "-score",
) -> SuggestionSort:
    return SuggestionSort.parse(sort)


def build_duplicates_router() -> APIRouter:
    router = api_router(prefix="/api/v1/identity/duplicates", tags=["identity"])
    Filters = Annotated[SuggestionFilters, Depends(suggestion_filters)]
    Sort = Annotated[SuggestionSort, Depends(suggestion_sort)]

    @router.get("", summary="List suspected duplicates (the review queue)")
    async def list_duplicates(
        *,
        uow: Reader,
        filters: Filters,
        sort: Sort,
        cursor: Annotated[
            str | None,
            Query(max_length=500, description="`meta.next_cursor` of the previous page"),
        ] = None,
        per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
    ) -> CursorPage[DuplicateOut]:
        after = SuggestionCursor.decode(cursor, sort) if cursor else None
        found, next_cursor = await use_cases.list_suggestions(
            uow, filters, sort, after=after, limit=per_page
        )
        return CursorPage[DuplicateOut](
            data=[DuplicateOut.of(s) for s in found],
            meta=CursorMeta(
                per_page=per_page,
                next_cursor=next_cursor.encode() if next_cursor else None,
            ),
        )

    @router.get("/{suggestion_id}", summary="Get one suspected duplicate")
    async def get_duplicate(suggestion_id: uuid.UUID, uow: Reader) -> DuplicateOut:
        return DuplicateOut.of(await use_cases.get_suggestion(uow, suggestion_id))

    @router.post(
        "/{suggestion_id}/accept",
        summary="They are one person: merge the other customer into `primary_id`",
        responses={409: {"description": "already decided"}},
    )
    async def accept_duplicate(
        suggestion_id: uuid.UUID, body: AcceptIn, uow: Reviewer
    ) -> DuplicateOut:
        suggestion = await use_cases.accept_suggestion(
            uow, suggestion_id, primary_id=body.primary_id, decided_by=uow.caller.subject
        )
        return DuplicateOut.of(suggestion)

    @router.post(
        "/{suggestion_id}/reject",
        summary="They are two people: never suggest the pair again",
        responses={409: {"description": "already decided"}},
    )
    async def reject_duplicate(suggestion_id: uuid.UUID, uow: Reviewer) -> DuplicateOut:
        suggestion = await use_cases.reject_suggestion(
            uow, suggestion_id, decided_by=uow.caller.subject
        )
        return DuplicateOut.of(suggestion)

    return router
