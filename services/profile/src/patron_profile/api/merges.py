"""`POST /api/v1/customers/merge`: merge two customers, as the `MergeCustomers` command does.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from patron_profile.api.dependencies import Writer
from patron_profile.domain.merge import MergeRecord
from patron_profile.service.merge_requests import request_merge
from patron_shared.http import api_router


class MergeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "primary_id": "0b7e3c1a-6c1d-4c3e-9a51-2f1d3e4c5b6a",
                    "secondary_id": "5f2d9e8c-1b3a-4d6e-8f7a-9c0b1d2e3f4a",
                }
            ]
        },
    )

    primary_id: uuid.UUID = Field(description="the customer that stays")
    secondary_id: uuid.UUID = Field(description="the customer folded into it (a tombstone after)")


class MergeOut(BaseModel):
    merge_id: uuid.UUID
    primary_id: uuid.UUID
    secondary_id: uuid.UUID
    merged_at: datetime
    merged_by: str | None
    filled_fields: list[str] = Field(description="the primary's blanks filled from the secondary")
    added_tags: list[str]
    moved_order_ids: list[str]
    moved_note_ids: list[uuid.UUID]

    @classmethod
    def of(cls, record: MergeRecord) -> "MergeOut":
        return cls(
            merge_id=record.merge_id,
            primary_id=record.primary_id,
            secondary_id=record.secondary_id,
            merged_at=record.merged_at,
            merged_by=record.merged_by,
            filled_fields=sorted(record.filled_fields),
            added_tags=list(record.added_tags),
            moved_order_ids=list(record.moved_order_ids),
            moved_note_ids=list(record.moved_note_ids),
        )


def build_merges_router() -> APIRouter:
    router = api_router(prefix="/api/v1/customers", tags=["merges"])

    @router.post(
        "/merge",
        summary="Merge a customer into another (the secondary becomes a tombstone)",
        description=(
            "The same flow as the `MergeCustomers` command: the primary keeps its values and "
            "fills its blanks from the secondary, takes its tags, external ids, metadata keys "
            "and addresses it lacks, its notes, orders and consents, and `CustomersMerged` "
            "tells the other services. Idempotent: "
            "asking again for a merge that is done answers that merge (200). 422 when both "
            "ids are one customer, 404 for an unknown customer, 409 when the secondary was "
            "merged into another customer, the primary was merged away, or either is "
            "deleted. `GET /api/v1/customers/{secondary_id}` then answers 404 with "
            "`merged_into`."
        ),
    )
    async def merge(body: MergeRequest, uow: Writer) -> MergeOut:
        record = await request_merge(
            uow, body.primary_id, body.secondary_id, requested_by=uow.caller.subject
        )
        return MergeOut.of(record)

    return router
