"""`/api/v1/customers`: translate HTTP to use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AwareDatetime

from patron_profile.api.dependencies import Reader, Viewer, Writer
from patron_profile.api.erasures import ERASURE_ACCEPTED, ModeQuery, accept_erasure
from patron_profile.api.schemas import (
    CustomerCreate,
    CustomerDetail,
    CustomerOut,
    CustomerPatch,
    OrderOut,
)
from patron_profile.domain.customer_query import Cursor, CustomerFilters, CustomerSort
from patron_profile.service import customers as use_cases
from patron_profile.service.customers import ContactRules
from patron_profile.settings import ProfileSettings
from patron_shared.auth import Scope
from patron_shared.errors import InvalidInput
from patron_shared.http import (
    CursorMeta,
    CursorPage,
    Page,
    PageParams,
    api_router,
    page_params,
    require,
)

INCLUDES = ("addresses", "orders", "metadata")


async def customer_filters(
    *,
    search: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="part of a name, email or phone"),
    ] = None,
    email: Annotated[str | None, Query(max_length=320, description="exact email")] = None,
    tags: Annotated[
        str | None, Query(max_length=2000, description="comma-separated, e.g. `vip,gift`")
    ] = None,
    tags_match: Annotated[
        Literal["any", "all"], Query(description="customers with any or all of `tags`")
    ] = "any",
    accepts_marketing: bool | None = None,
    source: Annotated[str | None, Query(max_length=50)] = None,
    group: Annotated[uuid.UUID | None, Query(description="customer group id")] = None,
    status: Literal["active", "disabled"] | None = None,
    is_vip: bool | None = None,
    segment: Annotated[str | None, Query(max_length=100, examples=["at_risk"])] = None,
    total_spent_min: Annotated[Decimal | None, Query(ge=0)] = None,
    total_spent_max: Annotated[Decimal | None, Query(ge=0)] = None,
    orders_min: Annotated[int | None, Query(ge=0)] = None,
    orders_max: Annotated[int | None, Query(ge=0)] = None,
    last_order_from: AwareDatetime | None = None,
    last_order_to: AwareDatetime | None = None,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
    country: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")
    ] = None,
    state: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    city: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> CustomerFilters:
    return CustomerFilters(
        search=search,
        email=email,
        tags=tuple(t for t in (tags or "").split(",") if t.strip()),
        tags_match=tags_match,
        accepts_marketing=accepts_marketing,
        source=source,
        group_id=group,
        status=status,
        is_vip=is_vip,
        segment=segment,
        total_spent_min=total_spent_min,
        total_spent_max=total_spent_max,
        orders_min=orders_min,
        orders_max=orders_max,
        last_order_from=last_order_from,
        last_order_to=last_order_to,
        created_from=created_from,
        created_to=created_to,
        country=country,
        state=state,
        city=city,
    )


async def customer_sort(
    sort: Annotated[
        str,
        Query(
            description="name, total_spent, total_orders, last_order_at or created_at; "
            "prefix `-` for descending (nulls always last)",
            examples=["-total_spent"],
        ),
    ] = "-created_at",
) -> CustomerSort:
    return CustomerSort.parse(sort)


def build_customers_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/customers", tags=["customers"])
    rules = ContactRules(phone_default_region=settings.phone_default_region)
    paging = page_params(settings.customers_per_page, settings.customers_max_per_page)
    count_limit = settings.customers_count_limit
    Filters = Annotated[CustomerFilters, Depends(customer_filters)]
    Sort = Annotated[CustomerSort, Depends(customer_sort)]
    Paging = Annotated[PageParams, Depends(paging)]

    @router.post("", status_code=status.HTTP_201_CREATED, summary="Create a customer")
    async def create_customer(
        body: CustomerCreate, uow: Writer, viewer: Viewer, response: Response
    ) -> CustomerOut:
        customer = await use_cases.create_customer(uow, body.model_dump(), rules=rules)
        response.headers["Location"] = f"/api/v1/customers/{customer.id}"
        return CustomerOut.of(customer, viewer)

    @router.get(
        "",
        summary="List customers: filter, sort, page or scan with a cursor",
    )
    async def list_customers(
        *,
        uow: Reader,
        filters: Filters,
        sort: Sort,
        page: Paging,
        cursor: Annotated[
            str | None,
            Query(
                max_length=500,
                description="scan mode: empty to start, then `meta.next_cursor`; "
                "sorts by created_at, no totals",
            ),
        ] = None,
    ) -> Page[CustomerOut] | CursorPage[CustomerOut]:
        if cursor is not None:
            after = Cursor.decode(cursor) if cursor else None
            found, next_cursor = await use_cases.scan_customers(
                uow, filters, sort, after=after, limit=page.per_page
            )
            return CursorPage[CustomerOut](
                data=[CustomerOut.of(c, uow.caller) for c in found],
                meta=CursorMeta(
                    per_page=page.per_page,
                    next_cursor=next_cursor.encode() if next_cursor else None,
                ),
            )
        found, total = await use_cases.list_customers(
            uow, filters, sort, offset=page.offset, limit=page.per_page, count_limit=count_limit
        )
        return Page[CustomerOut].build(
            [CustomerOut.of(c, uow.caller) for c in found], page, total, count_limit=count_limit
        )

    @router.get(
        "/search",
        summary="Search customers by part of a name, email or phone",
    )
    async def search_customers(
        uow: Reader,
        q: Annotated[str, Query(min_length=1, max_length=200, examples=["jane"])],
        sort: Sort,
        page: Paging,
    ) -> Page[CustomerOut]:
        found, total = await use_cases.list_customers(
            uow,
            CustomerFilters(search=q),
            sort,
            offset=page.offset,
            limit=page.per_page,
            count_limit=count_limit,
        )
        return Page[CustomerOut].build(
            [CustomerOut.of(c, uow.caller) for c in found], page, total, count_limit=count_limit
        )

    @router.get(
        "/{customer_id}",
        summary="Get one customer",
    )
    async def get_customer(
        customer_id: uuid.UUID,
        uow: Reader,
        include: Annotated[
            str | None, Query(description=f"comma-separated: {', '.join(INCLUDES)}")
        ] = None,
    ) -> CustomerDetail:
        view = await use_cases.view_customer(uow, customer_id, include=_includes(include))
        return CustomerDetail.of_view(view, uow.caller)

    @router.get(
        "/{customer_id}/orders",
        summary="A customer's purchase history, newest first",
    )
    async def list_orders(customer_id: uuid.UUID, uow: Reader, page: Paging) -> Page[OrderOut]:
        found, total = await use_cases.purchase_history(
            uow, customer_id, offset=page.offset, limit=page.per_page
        )
        return Page[OrderOut].build([OrderOut.of(order) for order in found], page, total)

    @router.put("/{customer_id}", summary="Replace a customer's editable fields")
    async def replace_customer(
        customer_id: uuid.UUID, body: CustomerCreate, uow: Writer, viewer: Viewer
    ) -> CustomerOut:
        customer = await use_cases.update_customer(uow, customer_id, body.model_dump(), rules=rules)
        return CustomerOut.of(customer, viewer)

    @router.patch("/{customer_id}", summary="Change some fields of a customer")
    async def update_customer(
        customer_id: uuid.UUID, body: CustomerPatch, uow: Writer, viewer: Viewer
    ) -> CustomerOut:
        changes = body.model_dump(exclude_unset=True)
        customer = await use_cases.update_customer(uow, customer_id, changes, rules=rules)
        return CustomerOut.of(customer, viewer)

    @router.delete(
        "/{customer_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Delete a customer, or erase it everywhere (GDPR) with `mode`",
        dependencies=[Depends(require(Scope.CUSTOMERS_DELETE))],
        responses=ERASURE_ACCEPTED,
    )
    async def delete_customer(
        customer_id: uuid.UUID, uow: Writer, mode: ModeQuery = None
    ) -> Response:
        if mode is not None:
            return await accept_erasure(
                uow, customer_id, mode, hash_key=settings.erasure_hash_key_bytes
            )
        await use_cases.delete_customer(uow, customer_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router


def _includes(raw: str | None) -> set[str]:
    wanted = {part.strip() for part in (raw or "").split(",") if part.strip()}
    unknown = wanted - set(INCLUDES)
    if unknown:
        raise InvalidInput(
            "include", f"unknown {sorted(unknown)}; one of {', '.join(INCLUDES)}", location="query"
        )
    return wanted
