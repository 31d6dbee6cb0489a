"""`/api/v1/customers/segments` and `/api/v1/customers/vip`: the built-in segments.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from patron_segmentation.api.segments import MemberOut, Reader, member_cursor
from patron_segmentation.domain.builtin_segments import builtin
from patron_segmentation.domain.rules import render
from patron_segmentation.service import segments as use_cases
from patron_segmentation.settings import SegmentationSettings
from patron_shared.http import CursorMeta, CursorPage, api_router, encode_cursor


class BuiltinCountOut(BaseModel):
    label: str
    count: int
    rule: str | None = Field(default=None, description="the rule the segment is, as text")


def build_builtin_router(settings: SegmentationSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/customers", tags=["segments"])
    thresholds = settings.builtin_thresholds()

    @router.get(
        "/segments",
        summary="Each built-in segment's label and member count now, and the total",
        description="Keys: new, returning, loyal, vip, at_risk, high_value, one_time_buyers, "
        "engagement_active, engagement_dormant, engagement_new, and total (all live "
        "customers). Thresholds come from the CUSTOMERS_* settings.",
    )
    async def segment_counts(uow: Reader) -> dict[str, BuiltinCountOut]:
        total, counted = await use_cases.builtin_counts(uow, thresholds)
        body = {
            segment.key: BuiltinCountOut(
                label=segment.label, count=count, rule=render(segment.rule)
            )
            for segment, count in counted
        }
        body["total"] = BuiltinCountOut(label="All customers", count=total)
        return body

    @router.get("/vip", summary="The VIP customers now, in customer-id cursor pages")
    async def vip_customers(
        uow: Reader,
        cursor: Annotated[
            str | None, Query(max_length=500, description="`meta.next_cursor` of the last page")
        ] = None,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> CursorPage[MemberOut]:
        found, after = await use_cases.rule_members(
            uow, builtin(thresholds, "vip").rule, after=member_cursor(cursor), limit=per_page
        )
        return CursorPage[MemberOut](
            data=[MemberOut.of(m) for m in found],
            meta=CursorMeta(
                per_page=per_page, next_cursor=encode_cursor(str(after)) if after else None
            ),
        )

    return router
