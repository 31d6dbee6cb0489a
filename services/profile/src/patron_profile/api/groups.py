"""`/api/v1/groups`: translate HTTP to the customer group use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.config import JsonDict

from patron_profile.api.dependencies import Reader, Writer
from patron_profile.domain.group import MAX_RULES, CustomerGroup, Rule
from patron_profile.service import groups as use_cases
from patron_profile.service.groups import MAX_ASSIGN_IDS, GroupView
from patron_profile.settings import ProfileSettings
from patron_shared.events import CurrencyCode, Money, NonNegativeMoney, round_money
from patron_shared.http import Page, PageParams, api_router, page_params


def _reject_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('a percentage is a decimal string such as "12.50", not a float')
    return value


Percent = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    Field(ge=0, le=100, max_digits=5, decimal_places=2),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{1,3}(\.\d{1,2})?$",
            "description": "Percentage from 0 to 100 as a decimal string",
            "examples": ["15.00"],
        }
    ),
]
RuleField = Literal["total_spent", "total_orders", "email_domain"]
RuleOp = Literal[">", ">=", "<", "<=", "=", "in", "not_in", "business"]
PaymentTerms = Annotated[
    str,
    Field(
        max_length=30,
        description="prepaid, cod, due-on-receipt or net-<days> (1 to 365)",
        examples=["net-30"],
    ),
]


class RuleIn(BaseModel):
    """`total_spent` (decimal string) or `total_orders` (integer) with `>`, `>=`, `<`,
    `<=`, `=`; `email_domain` `in`/`not_in` a list of domains, or `business` (not a
    free-mail provider such as gmail.com, no value)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"field": "total_spent", "op": ">", "value": "5000"},
                {"field": "total_orders", "op": ">", "value": 10},
                {"field": "email_domain", "op": "in", "value": ["acme.com"]},
                {"field": "email_domain", "op": "business"},
            ]
        },
    )

    field: RuleField
    op: RuleOp
    value: str | int | list[Annotated[str, Field(max_length=253)]] | None = Field(
        default=None, union_mode="left_to_right"
    )


class RuleOut(BaseModel):
    field: str
    op: str
    value: str | int | list[str] | None

    @classmethod
    def of(cls, rule: Rule) -> "RuleOut":
        return cls.model_validate(rule.to_json())


_EXAMPLE: JsonDict = {
    "name": "Trade partners",
    "discount_percent": "20.00",
    "free_shipping": True,
    "free_shipping_threshold": "300.00",
    "minimum_order": "100.00",
    "currency": "USD",
    "payment_terms": "net-30",
    "price_list": "trade-2026",
    "auto_assign": True,
    "priority": 30,
    "rules": [{"field": "email_domain", "op": "in", "value": ["acme.com"]}],
}


class GroupCreate(BaseModel):
    """A custom group. Amounts need a `currency`; a threshold needs `free_shipping`;
    `auto_assign` needs at least one rule (all of a group's rules must hold)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    name: str = Field(min_length=1, max_length=100)
    discount_percent: Percent = Decimal(0)
    free_shipping: bool = False
    free_shipping_threshold: NonNegativeMoney | None = Field(
        default=None, description="free shipping from this order total (null: always)"
    )
    minimum_order: NonNegativeMoney | None = None
    currency: CurrencyCode | None = None
    payment_terms: PaymentTerms = "prepaid"
    price_list: str | None = Field(default=None, max_length=100)
    auto_assign: bool = False
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    rules: list[RuleIn] = Field(default_factory=list, max_length=MAX_RULES)


class GroupPatch(BaseModel):
    """Only the fields sent change; `null` clears an optional field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"auto_assign": True}, {"discount_percent": "17.50"}]},
    )

    name: str | None = Field(default=None, min_length=1, max_length=100)
    discount_percent: Percent | None = None
    free_shipping: bool | None = None
    free_shipping_threshold: NonNegativeMoney | None = None
    minimum_order: NonNegativeMoney | None = None
    currency: CurrencyCode | None = None
    payment_terms: PaymentTerms | None = None
    price_list: str | None = Field(default=None, max_length=100)
    auto_assign: bool | None = None
    priority: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    rules: list[RuleIn] | None = Field(default=None, max_length=MAX_RULES)


class GroupOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE
                | {"id": "0b6f3c1e-8a39-4d5e-9c1b-2f8f0f4b7a11", "key": None, "is_default": False}
            ]
        }
    )

    id: uuid.UUID
    key: str | None = Field(description="retail, wholesale or vip for the defaults")
    is_default: bool
    name: str
    discount_percent: Percent
    free_shipping: bool
    free_shipping_threshold: Money | None
    minimum_order: Money | None
    currency: str | None
    payment_terms: str
    price_list: str | None
    auto_assign: bool
    priority: int
    rules: list[RuleOut]
    customer_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: GroupView) -> "GroupOut":
        group: CustomerGroup = view.group
        return cls(
            id=group.id,
            key=group.key,
            is_default=group.is_default,
            name=group.name,
            discount_percent=group.discount_percent.quantize(Decimal("0.01")),
            free_shipping=group.free_shipping,
            free_shipping_threshold=_amount(group.free_shipping_threshold, group.currency),
            minimum_order=_amount(group.minimum_order, group.currency),
            currency=group.currency,
            payment_terms=group.payment_terms,
            price_list=group.price_list,
            auto_assign=group.auto_assign,
            priority=group.priority,
            rules=[RuleOut.of(rule) for rule in group.rules],
            customer_count=view.customer_count,
            created_at=group.created_at,
            updated_at=group.updated_at,
        )


def _amount(amount: Decimal | None, currency: str | None) -> Decimal | None:
    return None if amount is None else round_money(amount, currency)


class AssignRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"customer_ids": ["6a0c7a4e-2d1b-4f5e-9c3a-1b2c3d4e5f60"]}]
        },
    )

    customer_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_ASSIGN_IDS)


class AssignOut(BaseModel):
    assigned: int = Field(description="customers now in the group, pinned there by hand")
    not_found: list[uuid.UUID]


def build_groups_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/groups", tags=["groups"])
    paging = page_params(settings.customers_per_page, settings.customers_max_per_page)

    @router.get(
        "",
        summary="List customer groups",
        description="The defaults (Retail, Wholesale, VIP) exist from the first call.",
    )
    async def list_groups(
        uow: Reader, page: Annotated[PageParams, Depends(paging)]
    ) -> Page[GroupOut]:
        found, total = await use_cases.list_groups(uow, offset=page.offset, limit=page.per_page)
        return Page[GroupOut].build([GroupOut.of(v) for v in found], page, total)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Create a customer group",
        description="Names are unique per tenant, case-insensitively (409). An auto-assign "
        "group takes the customers its rules match before the call returns.",
    )
    async def create_group(body: GroupCreate, uow: Writer, response: Response) -> GroupOut:
        view = await use_cases.create_group(uow, _values(body, exclude_unset=False))
        response.headers["Location"] = f"/api/v1/groups/{view.group.id}"
        return GroupOut.of(view)

    @router.get("/{group_id}", summary="One customer group")
    async def get_group(group_id: uuid.UUID, uow: Reader) -> GroupOut:
        return GroupOut.of(await use_cases.get_group(uow, group_id))

    @router.patch(
        "/{group_id}",
        summary="Change some fields of a customer group",
        description="Defaults can be edited too. A change of rules, priority or auto_assign "
        "re-evaluates the customers rules may move before the call returns.",
    )
    async def change_group(group_id: uuid.UUID, body: GroupPatch, uow: Writer) -> GroupOut:
        return GroupOut.of(
            await use_cases.change_group(uow, group_id, _values(body, exclude_unset=True))
        )

    @router.delete(
        "/{group_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Delete a customer group",
        description="Default groups cannot be deleted (409). A group with customers needs "
        "`reassign_to` (409 otherwise); its customers move there as a manual choice.",
    )
    async def delete_group(
        group_id: uuid.UUID,
        uow: Writer,
        reassign_to: Annotated[
            uuid.UUID | None, Query(description="group that takes this group's customers")
        ] = None,
    ) -> Response:
        await use_cases.delete_group(uow, group_id, reassign_to=reassign_to)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/{group_id}/customers",
        summary="Put customers in a group by hand",
        description=f"Up to {MAX_ASSIGN_IDS} ids. Each customer is pinned to the group: rules "
        "leave it there until its group_id is cleared (PATCH the customer with null).",
    )
    async def assign_customers(group_id: uuid.UUID, body: AssignRequest, uow: Writer) -> AssignOut:
        result = await use_cases.assign_customers(uow, group_id, body.customer_ids)
        return AssignOut(assigned=result.assigned, not_found=result.not_found)

    return router


def _values(body: BaseModel, *, exclude_unset: bool) -> dict[str, Any]:
    # Python mode: money and percentages stay Decimal, rules become plain dicts.
    return body.model_dump(exclude_unset=exclude_unset)
