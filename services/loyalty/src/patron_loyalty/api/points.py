"""Points, the fidelity card and the program: translate HTTP to use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.api.points_schemas import (
    AdjustedOut,
    AdjustPointsIn,
    CardOut,
    HoldIn,
    PointsEntryOut,
    ProgramIO,
    QuoteOut,
    RedeemIn,
    RedemptionOut,
)
from patron_loyalty.service import points as use_cases
from patron_loyalty.service import redemption as redemptions
from patron_shared.auth import Scope
from patron_shared.http import (
    CursorMeta,
    CursorPage,
    api_router,
    decode_moment_cursor,
    encode_moment_cursor,
    unit_of_work,
)

Reader = Annotated[LoyaltyUnitOfWork, Depends(unit_of_work(LoyaltyUnitOfWork, Scope.LOYALTY_READ))]
Writer = Annotated[LoyaltyUnitOfWork, Depends(unit_of_work(LoyaltyUnitOfWork, Scope.LOYALTY_WRITE))]
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 200
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat a request with the same key: it answers the same, applied once",
    ),
]


def build_points_router() -> APIRouter:
    router = api_router(prefix="/api/v1", tags=["loyalty"])

    @router.get("/customers/{customer_id}/loyalty", summary="A customer's fidelity card")
    async def get_card(customer_id: uuid.UUID, uow: Reader) -> CardOut:
        return CardOut.of(await use_cases.fidelity_card(uow, customer_id))

    @router.get(
        "/customers/{customer_id}/points",
        summary="A customer's points history, newest first (each entry with the lots it moved)",
    )
    async def get_points_history(
        customer_id: uuid.UUID,
        uow: Reader,
        cursor: Annotated[
            str | None, Query(max_length=500, description="`meta.next_cursor` of the previous page")
        ] = None,
        per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
    ) -> CursorPage[PointsEntryOut]:
        page = await use_cases.points_history(
            uow, customer_id, after=decode_moment_cursor(cursor), limit=per_page
        )
        last = page.entries[-1] if page.entries and page.has_more else None
        return CursorPage[PointsEntryOut](
            data=[PointsEntryOut.of(entry) for entry in page.entries],
            meta=CursorMeta(
                per_page=per_page,
                next_cursor=(
                    encode_moment_cursor(last.occurred_at, last.entry_id) if last else None
                ),
            ),
        )

    @router.post(
        "/customers/{customer_id}/points",
        status_code=201,
        summary="Add or deduct points by hand, with a reason (announced as PointsAdjusted)",
        responses={409: {"description": "a deduction larger than the balance"}},
    )
    async def adjust_points(
        customer_id: uuid.UUID, body: AdjustPointsIn, uow: Writer
    ) -> AdjustedOut:
        adjusted = await use_cases.adjust_points(
            uow, customer_id, body.points, body.reason, actor=uow.caller.subject
        )
        return AdjustedOut.of(adjusted)

    @router.get(
        "/customers/{customer_id}/points/quote",
        summary="What a number of points is worth now, and whether they can be redeemed",
    )
    async def quote(
        customer_id: uuid.UUID, uow: Reader, points: Annotated[int, Query(ge=1, le=100_000_000)]
    ) -> QuoteOut:
        return QuoteOut.of(await redemptions.quote_redemption(uow, customer_id, points))

    @router.post(
        "/customers/{customer_id}/points/redeem",
        status_code=201,
        summary="Redeem points for a one-time discount code",
        responses={409: {"description": "not enough points available"}},
    )
    async def redeem(
        customer_id: uuid.UUID,
        body: RedeemIn,
        uow: Writer,
        idempotency_key: IdempotencyKey = None,
    ) -> RedemptionOut:
        result = await redemptions.redeem_points(
            uow, customer_id, body.points, order_id=body.order_id, idempotency_key=idempotency_key
        )
        return RedemptionOut.of_result(result)

    @router.post(
        "/customers/{customer_id}/points/holds",
        status_code=201,
        summary="Reserve points for a checkout (confirm or cancel it; it lapses on its own)",
        responses={409: {"description": "not enough points available"}},
    )
    async def hold(
        customer_id: uuid.UUID,
        body: HoldIn,
        uow: Writer,
        idempotency_key: IdempotencyKey = None,
    ) -> RedemptionOut:
        result = await redemptions.hold_points(
            uow,
            customer_id,
            body.points,
            order_id=body.order_id,
            idempotency_key=idempotency_key,
            hold_for=timedelta(seconds=body.hold_seconds),
        )
        return RedemptionOut.of_result(result)

    @router.post(
        "/customers/{customer_id}/points/holds/{redemption_id}/confirm",
        summary="Take a hold's points and give its discount code",
        responses={409: {"description": "the hold was cancelled or lapsed"}},
    )
    async def confirm(
        customer_id: uuid.UUID, redemption_id: uuid.UUID, uow: Writer
    ) -> RedemptionOut:
        return RedemptionOut.of_result(
            await redemptions.confirm_hold(uow, customer_id, redemption_id)
        )

    @router.post(
        "/customers/{customer_id}/points/holds/{redemption_id}/cancel",
        summary="Release a hold's points",
        responses={409: {"description": "already redeemed"}},
    )
    async def cancel(
        customer_id: uuid.UUID, redemption_id: uuid.UUID, uow: Writer
    ) -> RedemptionOut:
        return RedemptionOut.of_result(
            await redemptions.cancel_hold(uow, customer_id, redemption_id)
        )

    @router.get(
        "/customers/{customer_id}/points/redemptions/{redemption_id}",
        summary="One redemption or hold",
    )
    async def get_redemption(
        customer_id: uuid.UUID, redemption_id: uuid.UUID, uow: Reader
    ) -> RedemptionOut:
        return RedemptionOut.of(await redemptions.get_redemption(uow, customer_id, redemption_id))

    @router.get("/loyalty/program", summary="The loyalty program in force (tiers, rates, expiry)")
    async def get_program(uow: Reader) -> ProgramIO:
        async with uow:
            return ProgramIO.of(await use_cases.program_of(uow))

    @router.put("/loyalty/program", summary="Set the tenant's loyalty program")
    async def put_program(body: ProgramIO, uow: Writer) -> ProgramIO:
        program = use_cases.build_program(**body.fields())
        return ProgramIO.of(await use_cases.save_program(uow, program, uow.caller.subject))

    return router
