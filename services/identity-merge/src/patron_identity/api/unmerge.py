"""`POST /api/v1/identity/unmerge`: undo a merge.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.api.graph import MergeOut
from patron_identity.service import unmerge as use_cases
from patron_shared.auth import Scope
from patron_shared.http import api_router, unit_of_work

Writer = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_WRITE))
]


class UnmergeIn(BaseModel):
    """The merge to undo: its id, or the two customers it joined."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"merge_id": "5f0c8c1e-8a43-4c8e-9f55-0b0f3a6f7c21"},
                {
                    "survivor_id": "0b9a4f6e-3f5d-4c1a-8a7e-2d8c5b1e9f00",
                    "merged_customer_id": "7c2e1d4b-9a8f-4e3c-b5d6-1f0a2b3c4d5e",
                },
            ]
        },
    )

    merge_id: uuid.UUID | None = None
    survivor_id: uuid.UUID | None = Field(default=None, description="the customer that remained")
    merged_customer_id: uuid.UUID | None = Field(
        default=None, description="the customer merged into it, restored by the unmerge"
    )

    @model_validator(mode="after")
    def names_one_merge(self) -> "UnmergeIn":
        if self.merge_id is not None:
            if self.survivor_id is not None or self.merged_customer_id is not None:
                raise ValueError("give either merge_id or survivor_id and merged_customer_id")
        elif self.survivor_id is None or self.merged_customer_id is None:
            raise ValueError("give merge_id, or both survivor_id and merged_customer_id")
        return self


def build_unmerge_router() -> APIRouter:
    router = api_router(prefix="/api/v1/identity", tags=["identity"])

    @router.post(
        "/unmerge",
        summary="Undo a merge: the merged customer gets its identifiers back",
        responses={
            404: {"description": "no such merge"},
            409: {"description": "already undone, or the survivor was merged away since"},
        },
    )
    async def unmerge(body: UnmergeIn, uow: Writer) -> MergeOut:
        request = use_cases.UnmergeRequest(**body.model_dump())
        merge = await use_cases.unmerge(uow, request, unmerged_by=uow.caller.subject)
        return MergeOut.of(merge)

    return router
