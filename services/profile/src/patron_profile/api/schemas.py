"""Request and response bodies of the customer API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from patron_profile.api.addresses import AddressOut
from patron_profile.api.metadata import MetadataOut
from patron_profile.domain.customer import Customer
from patron_profile.service.customers import CustomerView
from patron_shared.auth import Principal, mask_email, mask_name, mask_phone
from patron_shared.events import Money, round_money
from patron_shared.orders import OrderRecord

SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,49}$")]
ExternalIds = dict[SourceName, Annotated[str, StringConstraints(min_length=1, max_length=200)]]
Tag = Annotated[str, StringConstraints(max_length=255)]


Gender = Literal["female", "male", "non_binary", "other", "undisclosed"]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


class CustomerCreate(BaseModel):
    """A new customer; at least one of `email` and `phone`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "jane.doe@example.com",
                    "phone": "+14155550123",
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "accepts_marketing": True,
                    "tags": ["vip"],
                    "external_ids": {"shopify": "7001"},
                    "source": "admin",
                    "locale": "en-US",
                }
            ]
        },
    )

    email: str | None = Field(default=None, max_length=320, examples=["jane@example.com"])
    phone: str | None = Field(default=None, max_length=32, examples=["+14155550123"])
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    accepts_marketing: bool = False
    tags: list[Tag] = Field(default_factory=list, max_length=250)
    notes: str | None = Field(default=None, max_length=10_000)
    external_ids: ExternalIds = Field(default_factory=dict, examples=[{"shopify": "123"}])
    source: SourceName | None = Field(default=None, examples=["admin"])
    date_of_birth: date | None = None
    gender: Gender | None = None
    locale: Locale | None = None
    preferences: dict[str, Any] = Field(default_factory=dict, examples=[{"newsletter": "weekly"}])
    group_id: uuid.UUID | None = None
    last_login_at: AwareDatetime | None = None
    status: Literal["active", "disabled"] = "active"


class CustomerPatch(BaseModel):
    """Only the fields sent change; `null` clears a field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"last_name": "Smith", "tags": ["vip"], "notes": None}]},
    )

    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    accepts_marketing: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=250)
    notes: str | None = Field(default=None, max_length=10_000)
    external_ids: ExternalIds | None = None
    source: SourceName | None = None
    status: Literal["active", "disabled"] | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    locale: Locale | None = None
    preferences: dict[str, Any] | None = None
    group_id: uuid.UUID | None = None
    last_login_at: AwareDatetime | None = None


class CustomerOut(BaseModel):
    id: uuid.UUID
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    full_name: str | None
    accepts_marketing: bool
    tags: list[str]
    notes: str | None
    external_ids: dict[str, str]
    source: str | None
    status: str
    date_of_birth: date | None
    gender: str | None
    locale: str | None
    preferences: dict[str, Any]
    group_id: uuid.UUID | None
    last_login_at: datetime | None
    is_vip: bool
    segments: list[str]
    loyalty_points: int
    loyalty_tier: str | None
    total_orders: int
    total_spent: Money
    avg_order_value: Money | None
    currency: str | None
    first_order_at: datetime | None
    last_order_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, customer: Customer, viewer: Principal) -> CustomerOut:
        """The customer as `viewer` may see it: PII masked without `customers:pii`.

        Not validated again: the fields come from a stored customer, valid when it was
        written, and validating some thirty of them is most of the cost of a list's page.
        """
        return cls.model_construct(**cls.fields_of(customer, viewer))

    @staticmethod
    def fields_of(customer: Customer, viewer: Principal) -> dict[str, Any]:
        pii = viewer.can_read_pii
        stats = customer.stats
        return dict(
            id=customer.id,
            email=customer.email if pii else mask_email(customer.email),
            phone=customer.phone if pii else mask_phone(customer.phone),
            first_name=customer.first_name if pii else mask_name(customer.first_name),
            last_name=customer.last_name if pii else mask_name(customer.last_name),
            full_name=customer.full_name if pii else mask_name(customer.full_name),
            accepts_marketing=customer.accepts_marketing,
            tags=customer.tags,
            notes=customer.notes if pii else None,
            external_ids=customer.external_ids,
            source=customer.source,
            status=customer.status,
            date_of_birth=customer.date_of_birth if pii else None,
            gender=customer.gender,
            locale=customer.locale,
            preferences=customer.preferences,
            group_id=customer.group_id,
            last_login_at=customer.last_login_at,
            is_vip=customer.is_vip,
            segments=customer.segments,
            loyalty_points=customer.loyalty_points,
            loyalty_tier=customer.loyalty_tier,
            total_orders=stats.total_orders,
            total_spent=round_money(stats.total_spent, stats.currency),
            avg_order_value=None
            if stats.avg_order_value is None
            else round_money(stats.avg_order_value, stats.currency),
            currency=stats.currency,
            first_order_at=stats.first_order_at,
            last_order_at=stats.last_order_at,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


class OrderOut(BaseModel):
    """One order of the purchase history (refunds reduce `net_total`)."""

    order_id: str
    order_number: str | None
    status: str
    currency: str
    total: Money
    refunded_amount: Money
    net_total: Money
    items: list[dict[str, Any]]
    channel: str | None
    placed_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, order: OrderRecord) -> Self:
        return cls(
            order_id=order.order_id,
            order_number=order.order_number,
            status=order.status,
            currency=order.currency,
            total=round_money(order.total, order.currency),
            refunded_amount=round_money(order.refunded_amount, order.currency),
            net_total=round_money(order.total - order.refunded_amount, order.currency),
            items=list(order.items),
            channel=order.channel,
            placed_at=order.placed_at,
            paid_at=order.paid_at,
            cancelled_at=order.cancelled_at,
        )


class CustomerDetail(CustomerOut):
    """One customer, with the Maginium-style `name` and, on request, related data."""

    name: str | None = Field(description="full name (masked without customers:pii)")
    addresses: list[AddressOut] | None = Field(default=None, description="with `include=addresses`")
    purchase_history: list[OrderOut] | None = Field(
        default=None, description="the 10 most recent orders, with `include=orders`"
    )
    metadata: list[MetadataOut] | None = Field(
        default=None, description="every metadata entry, with `include=metadata`"
    )

    @classmethod
    def of_view(cls, view: CustomerView, viewer: Principal) -> CustomerDetail:
        fields = CustomerOut.fields_of(view.customer, viewer)
        return cls.model_construct(  # a stored customer: see CustomerOut.of
            **fields,
            name=fields["full_name"],
            addresses=None
            if view.addresses is None
            else [AddressOut.of(address, viewer) for address in view.addresses],
            purchase_history=None
            if view.recent_orders is None
            else [OrderOut.of(order) for order in view.recent_orders],
            metadata=None
            if view.metadata is None
            else [MetadataOut.of(entry) for entry in view.metadata],
        )
