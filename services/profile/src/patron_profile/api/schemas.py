"""Request and response bodies of the customer API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from patron_profile.domain.customer import Customer
from patron_shared.auth import Principal, mask_email, mask_name, mask_phone
from patron_shared.events import Money

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

    model_config = ConfigDict(extra="forbid")

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
    def of(cls, customer: Customer, viewer: Principal) -> Self:
        """The customer as `viewer` may see it: PII masked without `customers:pii`."""
        pii = viewer.can_read_pii
        stats = customer.stats
        return cls(
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
            total_spent=stats.total_spent.quantize(Decimal("0.01")),
            avg_order_value=stats.avg_order_value,
            currency=stats.currency,
            first_order_at=stats.first_order_at,
            last_order_at=stats.last_order_at,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


class CustomerDetail(CustomerOut):
    """One customer, with the Maginium-style `name` and, on request, related data."""

    name: str | None = Field(description="full name (masked without customers:pii)")
    addresses: list[dict[str, Any]] | None = Field(
        default=None, description="with `include=addresses`"
    )
    purchase_history: list[dict[str, Any]] | None = Field(
        default=None, description="most recent orders, with `include=orders`"
    )

    @classmethod
    def of(cls, customer: Customer, viewer: Principal) -> Self:
        base = CustomerOut.of(customer, viewer)
        return cls(**base.model_dump(), name=base.full_name)
