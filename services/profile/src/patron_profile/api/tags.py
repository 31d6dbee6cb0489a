"""Tags: on one customer, in bulk, and counted.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from patron_profile.api.dependencies import Reader, Viewer, Writer
from patron_profile.api.schemas import CustomerOut, Tag
from patron_profile.service import tags as use_cases
from patron_profile.settings import ProfileSettings
from patron_shared.http import Page, PageParams, api_router, page_params


class TagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[Tag] = Field(min_length=1, max_length=250, examples=[["vip", "gift"]])


class BulkTagsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"customer_ids": ["6a0c7a4e-2d1b-4f5e-9c3a-1b2c3d4e5f60"], "tags": ["vip"]}
            ]
        },
    )

    customer_ids: list[uuid.UUID] = Field(min_length=1, max_length=use_cases.MAX_BULK_IDS)
    tags: list[Tag] = Field(min_length=1, max_length=250)


class BulkTagsOut(BaseModel):
    requested: int = Field(description="distinct ids in the request")
    changed: int = Field(description="customers whose tags changed")
    unchanged: int = Field(description="customers found that already had (or lacked) the tags")
    not_found: list[uuid.UUID]


class TagCount(BaseModel):
    tag: str
    customers: int


def build_tags_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1", tags=["tags"])
    Paging = Annotated[PageParams, Depends(page_params(50, 1000))]

    # Declared before /customers/{customer_id}/tags, so "bulk" is never read as an id.
    @router.post("/customers/bulk/tags", summary="Add tags to up to 10,000 customers")
    async def add_tags_in_bulk(body: BulkTagsIn, uow: Writer) -> BulkTagsOut:
        result = await use_cases.change_tags_in_bulk(uow, body.customer_ids, body.tags, "add")
        return BulkTagsOut(**vars(result))

    @router.post("/customers/bulk/tags/remove", summary="Remove tags from up to 10,000 customers")
    async def remove_tags_in_bulk(body: BulkTagsIn, uow: Writer) -> BulkTagsOut:
        result = await use_cases.change_tags_in_bulk(uow, body.customer_ids, body.tags, "remove")
        return BulkTagsOut(**vars(result))

    @router.post("/customers/{customer_id}/tags", summary="Add tags to a customer")
    async def add_tags(
        customer_id: uuid.UUID, body: TagsIn, uow: Writer, viewer: Viewer
    ) -> CustomerOut:
        return CustomerOut.of(await use_cases.add_tags(uow, customer_id, body.tags), viewer)

    @router.delete("/customers/{customer_id}/tags/{tag}", summary="Remove a tag from a customer")
    async def remove_tag(
        customer_id: uuid.UUID,
        tag: Annotated[str, Path(min_length=1, max_length=255)],
        uow: Writer,
        viewer: Viewer,
    ) -> CustomerOut:
        return CustomerOut.of(await use_cases.remove_tag(uow, customer_id, tag), viewer)

    @router.get("/tags", summary="Tags in use, with how many customers carry each")
    async def list_tags(uow: Reader, page: Paging) -> Page[TagCount]:
        counts, total = await use_cases.tag_counts(uow, offset=page.offset, limit=page.per_page)
        return Page[TagCount].build(
            [TagCount(tag=tag, customers=n) for tag, n in counts], page, total
        )

    return router
