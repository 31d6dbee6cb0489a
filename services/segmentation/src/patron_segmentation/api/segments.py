"""`/api/v1/segments`: custom segments, their preview and their members.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.domain.rules import Rule, render, to_json
from patron_segmentation.domain.segments import Member, Segment, SegmentCursor
from patron_segmentation.service import segments as use_cases
from patron_shared.auth import Scope
from patron_shared.errors import InvalidInput
from patron_shared.events import Money, round_money
from patron_shared.http import (
    CSV_CONTENT_TYPE,
    CSV_TYPE,
    CursorMeta,
    CursorPage,
    api_router,
    attachment,
    csv_line,
    decode_cursor,
    decode_moment_cursor,
    encode_cursor,
    encode_moment_cursor,
    prefers,
    unit_of_work,
)

Reader = Annotated[
    SegmentationUnitOfWork, Depends(unit_of_work(SegmentationUnitOfWork, Scope.SEGMENTS_READ))
]
Writer = Annotated[
    SegmentationUnitOfWork, Depends(unit_of_work(SegmentationUnitOfWork, Scope.SEGMENTS_WRITE))
]
MEMBER_COLUMNS = ("customer_id", "order_count", "total_spent", "currency", "last_order_at", "tags")
RULE_DESCRIPTION = (
    "The rule: its text form "
    '(`total_spent > 1000 AND last_order_at < -90d AND tags CONTAINS "gift"`) or its JSON '
    'form (`{"and": [{"field": "total_spent", "op": ">", "value": "1000"}, ...]}`).'
)
NOT_A_CURSOR = "not a cursor this API returned"
RawRule = Annotated[str | dict[str, Any], Field(description=RULE_DESCRIPTION)]


class RuleIn(BaseModel):
    rule: RawRule


class SegmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Lapsed gift buyers"])
    rule: RawRule = Field(examples=["total_spent > 1000 AND last_order_at < -90d"])
    description: str | None = Field(default=None, max_length=2000)


class PreviewOut(BaseModel):
    count: int = Field(description="customers the rule selects now")
    rule: str = Field(description="the rule as read, in its canonical text form")
    rule_json: dict[str, Any]


class SegmentOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    rule: str
    rule_json: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, segment: Segment) -> "SegmentOut":
        return cls(
            id=segment.id,
            name=segment.name,
            description=segment.description,
            rule=render(segment.rule),
            rule_json=to_json(segment.rule),
            created_by=segment.created_by,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
        )


class MemberOut(BaseModel):
    customer_id: uuid.UUID
    order_count: int
    total_spent: Money
    currency: str | None
    last_order_at: datetime | None
    tags: list[str]

    @classmethod
    def of(cls, member: Member) -> "MemberOut":
        return cls(
            customer_id=member.customer_id,
            order_count=member.order_count,
            total_spent=round_money(member.total_spent, member.currency),
            currency=member.currency,
            last_order_at=member.last_order_at,
            tags=list(member.tags),
        )


def _preview(rule: Rule, count: int) -> PreviewOut:
    return PreviewOut(count=count, rule=render(rule), rule_json=to_json(rule))


def _segment_cursor(token: str | None) -> SegmentCursor | None:
    if token is None:
        return None
    decoded = decode_moment_cursor(token)
    return None if decoded is None else SegmentCursor(*decoded)


def member_cursor(token: str | None) -> uuid.UUID | None:
    if token is None:
        return None
    (customer_id,) = decode_cursor(token, 1)
    try:
        return uuid.UUID(customer_id)
    except ValueError:
        raise InvalidInput("cursor", NOT_A_CURSOR, location="query") from None


def build_segments_router() -> APIRouter:
    router = api_router(prefix="/api/v1/segments", tags=["segments"])
    cursor_query = Query(max_length=500, description="`meta.next_cursor` of the last page")

    @router.post(
        "/preview",
        summary="Count the customers a rule selects, before saving it",
        responses={422: {"description": "the rule cannot be read (position or JSON path)"}},
    )
    async def preview(body: RuleIn, uow: Reader) -> PreviewOut:
        rule, count = await use_cases.preview_segment(uow, body.rule)
        return _preview(rule, count)

    @router.post(
        "",
        status_code=201,
        summary="Save a custom segment",
        responses={409: {"description": "a segment with this name exists"}},
    )
    async def create(body: SegmentIn, uow: Writer, response: Response) -> SegmentOut:
        segment = await use_cases.create_segment(
            uow,
            name=body.name,
            raw_rule=body.rule,
            description=body.description,
            created_by=uow.caller.subject,
        )
        response.headers["Location"] = f"/api/v1/segments/{segment.id}"
        return SegmentOut.of(segment)

    @router.get("", summary="List the custom segments, oldest first")
    async def list_segments(
        uow: Reader,
        cursor: Annotated[str | None, cursor_query] = None,
        per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> CursorPage[SegmentOut]:
        found, after = await use_cases.list_segments(
            uow, after=_segment_cursor(cursor), limit=per_page
        )
        token = encode_moment_cursor(after.created_at, after.id) if after else None
        return CursorPage[SegmentOut](
            data=[SegmentOut.of(s) for s in found],
            meta=CursorMeta(per_page=per_page, next_cursor=token),
        )

    @router.get("/{segment_id}", summary="Get a custom segment")
    async def get(segment_id: uuid.UUID, uow: Reader) -> SegmentOut:
        return SegmentOut.of(await use_cases.get_segment(uow, segment_id))

    @router.put("/{segment_id}", summary="Change a segment's name, rule or description")
    async def update(segment_id: uuid.UUID, body: SegmentIn, uow: Writer) -> SegmentOut:
        segment = await use_cases.update_segment(
            uow, segment_id, name=body.name, raw_rule=body.rule, description=body.description
        )
        return SegmentOut.of(segment)

    @router.delete("/{segment_id}", status_code=204, summary="Delete a custom segment")
    async def delete(segment_id: uuid.UUID, uow: Writer) -> Response:
        await use_cases.delete_segment(uow, segment_id)
        return Response(status_code=204)

    @router.get(
        "/{segment_id}/members",
        summary="The segment's members now: JSON pages, or all of them as CSV",
        description="With `Accept: text/csv`, every member as CSV (one row each, streamed); "
        "otherwise cursor pages in customer-id order.",
        responses={200: {"content": {CSV_TYPE: {}}}},
    )
    async def members(
        segment_id: uuid.UUID,
        uow: Reader,
        request: Request,
        cursor: Annotated[str | None, cursor_query] = None,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Any:
        if prefers(request, CSV_TYPE):
            await use_cases.get_segment(uow, segment_id)  # a 404 before streaming starts
            return StreamingResponse(
                _member_csv(uow, segment_id),
                media_type=CSV_CONTENT_TYPE,
                headers=attachment(f"segment-{segment_id}.csv"),
            )
        found, after = await use_cases.segment_members(
            uow, segment_id, after=member_cursor(cursor), limit=per_page
        )
        return CursorPage[MemberOut](
            data=[MemberOut.of(m) for m in found],
            meta=CursorMeta(
                per_page=per_page, next_cursor=encode_cursor(str(after)) if after else None
            ),
        )

    return router


async def _member_csv(uow: SegmentationUnitOfWork, segment_id: uuid.UUID) -> AsyncIterator[str]:
    yield csv_line(list(MEMBER_COLUMNS))
    async for batch in use_cases.all_segment_members(uow, segment_id):
        for member in batch:
            spent: Decimal = round_money(member.total_spent, member.currency)
            yield csv_line(
                [
                    member.customer_id,
                    member.order_count,
                    format(spent, "f"),
                    member.currency or "",
                    member.last_order_at.isoformat() if member.last_order_at else "",
                    ";".join(member.tags),
                ]
            )
