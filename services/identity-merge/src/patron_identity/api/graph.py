"""`GET /api/v1/identity/customers/{customer_id}/graph`: a customer's identifiers and lineage.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.identifiers import OwnedIdentifier
from patron_identity.domain.lineage import (
    CustomerGraph,
    MergeHistoryEntry,
    MergeRecord,
    TransferredIdentifier,
)
from patron_identity.domain.resolution import Identifier
from patron_identity.service import customers as use_cases
from patron_shared.auth import Principal, Scope, mask_email, mask_phone
from patron_shared.http import api_router, unit_of_work

Reader = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_READ))
]


def shown_value(identifier: Identifier, viewer: Principal) -> str:
    """Emails and phones masked for callers without `customers:pii`; external ids as they are."""
    if viewer.can_read_pii or identifier.kind == "external_id":
        return identifier.value
    masked = mask_email if identifier.kind == "email" else mask_phone
    return masked(identifier.value) or ""


class IdentifierOut(BaseModel):
    kind: Literal["external_id", "email", "phone"]
    value: str = Field(examples=["shopify:123"])
    source: str = Field(description='who reported it first: a connector, "api" or "profile"')
    first_seen_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, owned: OwnedIdentifier, viewer: Principal) -> "IdentifierOut":
        return cls(
            kind=owned.identifier.kind,
            value=shown_value(owned.identifier, viewer),
            source=owned.source,
            first_seen_at=owned.first_seen_at,
            last_seen_at=owned.last_seen_at,
        )


class MovedIdentifierOut(BaseModel):
    kind: Literal["external_id", "email", "phone"]
    value: str
    source: str

    @classmethod
    def of(cls, moved: TransferredIdentifier, viewer: Principal) -> "MovedIdentifierOut":
        return cls(
            kind=moved.identifier.kind,
            value=shown_value(moved.identifier, viewer),
            source=moved.source,
        )


class MergeOut(BaseModel):
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_customer_id: uuid.UUID
    merged_at: datetime
    merged_by: str | None = Field(description='a user id, or "auto" for a matching rule')
    rule: str | None = Field(examples=["exact:email", "probabilistic"])
    score: float | None
    suggestion_id: uuid.UUID | None
    unmerged_at: datetime | None
    unmerged_by: str | None

    @classmethod
    def of(cls, merge: MergeRecord) -> "MergeOut":
        return cls(
            merge_id=merge.merge_id,
            survivor_id=merge.survivor_id,
            merged_customer_id=merge.merged_customer_id,
            merged_at=merge.merged_at,
            merged_by=merge.merged_by,
            rule=merge.rule,
            score=merge.score,
            suggestion_id=merge.suggestion_id,
            unmerged_at=merge.unmerged_at,
            unmerged_by=merge.unmerged_by,
        )


class MergeHistoryOut(MergeOut):
    identifiers_moved: list[MovedIdentifierOut] = Field(
        description="what the merge moved from the merged customer to the survivor"
    )

    @classmethod
    def of_entry(cls, entry: MergeHistoryEntry, viewer: Principal) -> "MergeHistoryOut":
        return cls(
            **MergeOut.of(entry.merge).model_dump(),
            identifiers_moved=[MovedIdentifierOut.of(m, viewer) for m in entry.moved],
        )


class GraphOut(BaseModel):
    customer_id: uuid.UUID
    merged_into: uuid.UUID | None = Field(
        description="the survivor this customer was merged into; null while it stands alone"
    )
    identifiers: list[IdentifierOut]
    merges: list[MergeHistoryOut] = Field(
        description="merges into this customer and out of it, oldest first"
    )

    @classmethod
    def of(cls, graph: CustomerGraph, viewer: Principal) -> "GraphOut":
        return cls(
            customer_id=graph.customer_id,
            merged_into=graph.merged_into,
            identifiers=[IdentifierOut.of(i, viewer) for i in graph.identifiers],
            merges=[MergeHistoryOut.of_entry(m, viewer) for m in graph.merges],
        )


def build_graph_router() -> APIRouter:
    router = api_router(prefix="/api/v1/identity/customers", tags=["identity"])

    @router.get(
        "/{customer_id}/graph",
        summary="A customer's identifiers and merge history",
        responses={404: {"description": "no such customer (or it was deleted)"}},
    )
    async def get_graph(customer_id: uuid.UUID, uow: Reader) -> GraphOut:
        graph = await use_cases.get_graph(uow, customer_id)
        return GraphOut.of(graph, uow.caller)

    return router
