"""`/api/v1/customers/{id}/credit`: store credit, translated to use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status

from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.api.credit_schemas import (
    ApplyCreditIn,
    CreditAppliedOut,
    CreditIssuedOut,
    CreditStatementOut,
    IssueCreditIn,
)
from patron_loyalty.service import credit as use_cases
from patron_loyalty.service.credit import MAX_IDEMPOTENCY_KEY_LENGTH
from patron_shared.auth import Scope
from patron_shared.http import Page, PageParams, api_router, page_params, unit_of_work

Reader = Annotated[LoyaltyUnitOfWork, Depends(unit_of_work(LoyaltyUnitOfWork, Scope.LOYALTY_READ))]
Writer = Annotated[LoyaltyUnitOfWork, Depends(unit_of_work(LoyaltyUnitOfWork, Scope.LOYALTY_WRITE))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
        description="a retry with the same key answers the first result and changes nothing",
    ),
]
IDEMPOTENCY_REPLAYED_HEADER = "Idempotency-Replayed"
DEFAULT_PER_PAGE, MAX_PER_PAGE = 20, 100


def build_credit_router() -> APIRouter:
    router = api_router(prefix="/api/v1/customers/{customer_id}/credit", tags=["store credit"])
    paging = page_params(DEFAULT_PER_PAGE, MAX_PER_PAGE)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Issue store credit",
        description=(
            "Opens a lot of credit (goodwill, refund alternative or loyalty reward) that "
            "expires at `expires_at`, if given. The caller is recorded as the actor. With an "
            "`Idempotency-Key`, a retry answers the first result (header "
            "`Idempotency-Replayed: true`); the key with a different body is a 409."
        ),
    )
    async def issue_credit(
        customer_id: uuid.UUID,
        body: IssueCreditIn,
        uow: Writer,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> CreditIssuedOut:
        result = await use_cases.issue_credit(
            uow,
            customer_id,
            amount=body.amount,
            currency=body.currency,
            reason=body.reason,
            kind=body.kind,
            expires_at=body.expires_at,
            actor=uow.caller.subject,
            idempotency_key=idempotency_key,
        )
        if result.replayed:
            response.headers[IDEMPOTENCY_REPLAYED_HEADER] = "true"
        return CreditIssuedOut.of(result, uow.caller)

    @router.get(
        "",
        summary="A customer's store credit: balances and entries, newest first",
        description=(
            "`balance` is the balance when the customer has credit in one currency only "
            "(null otherwise; `balances` has each). Lots past their expiry are expired "
            "before answering. Callers without `customers:pii` see each reason as null."
        ),
    )
    async def get_credit(
        customer_id: uuid.UUID,
        uow: Reader,
        page: Annotated[PageParams, Depends(paging)],
        currency: Annotated[
            str | None,
            Query(pattern=r"^[A-Za-z]{3}$", description="only entries in this currency"),
        ] = None,
    ) -> CreditStatementOut:
        statement = await use_cases.get_credit(
            uow,
            customer_id,
            currency=currency.upper() if currency else None,
            offset=page.offset,
            limit=page.per_page,
        )
        meta = Page[object].build([], page, statement.total_entries).meta
        return CreditStatementOut.of(customer_id, statement, meta, uow.caller)

    @router.post(
        "/apply",
        summary="Apply store credit at checkout",
        description=(
            "Spends the lots that expire soonest first (lots that never expire last), then "
            "the oldest. More than the balance is a 409 naming `amount`, and nothing is "
            "spent. A retry with the same `Idempotency-Key`, or for the same `order_id`, "
            "answers the first result and spends nothing more (409 if it asks for "
            "something else)."
        ),
    )
    async def apply_credit(
        customer_id: uuid.UUID,
        body: ApplyCreditIn,
        uow: Writer,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> CreditAppliedOut:
        result = await use_cases.apply_credit(
            uow,
            customer_id,
            amount=body.amount,
            currency=body.currency,
            order_id=body.order_id,
            actor=uow.caller.subject,
            idempotency_key=idempotency_key,
        )
        if result.replayed:
            response.headers[IDEMPOTENCY_REPLAYED_HEADER] = "true"
        return CreditAppliedOut.of(result, uow.caller)

    return router
