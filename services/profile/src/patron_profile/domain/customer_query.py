"""What a customer list asks for: filters, sort and cursor, validated without I/O."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from patron_shared.errors import InvalidInput

SORT_FIELDS = ("name", "total_spent", "total_orders", "last_order_at", "created_at")
# Keyset scanning needs a sort key that is never null and never changes.
CURSOR_SORT_FIELDS = ("created_at",)


@dataclass(frozen=True)
class CustomerFilters:
    search: str | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()
    tags_match: Literal["any", "all"] = "any"
    accepts_marketing: bool | None = None
    source: str | None = None
    group_id: uuid.UUID | None = None
    status: str | None = None
    is_vip: bool | None = None
    segment: str | None = None
    total_spent_min: Decimal | None = None
    total_spent_max: Decimal | None = None
    orders_min: int | None = None
    orders_max: int | None = None
    last_order_from: datetime | None = None
    last_order_to: datetime | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Location: the customer has an address there (any type).
    country: str | None = None
    state: str | None = None
    city: str | None = None

    def __post_init__(self) -> None:
        for low, high in (
            ("total_spent_min", "total_spent_max"),
            ("orders_min", "orders_max"),
            ("last_order_from", "last_order_to"),
            ("created_from", "created_to"),
        ):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise InvalidInput(low, f"must not be greater than {high}", location="query")


@dataclass(frozen=True)
class CustomerSort:
    field: str = "created_at"
    descending: bool = True

    @classmethod
    def parse(cls, value: str) -> CustomerSort:
        """`total_spent` ascending, `-total_spent` descending."""
        descending = value.startswith("-")
        name = value.removeprefix("-")
        if name not in SORT_FIELDS:
            raise InvalidInput(
                "sort",
                f"unknown sort field {name!r}; one of {', '.join(SORT_FIELDS)}",
                location="query",
            )
        return cls(field=name, descending=descending)


@dataclass(frozen=True)
class Cursor:
    """Where a scan stopped: the last row's sort value and id (opaque to callers)."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            created_at, row_id = json.loads(base64.urlsafe_b64decode(padded))
            return cls(created_at=datetime.fromisoformat(created_at), id=uuid.UUID(row_id))
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
            raise InvalidInput(
                "cursor", "not a cursor this API returned", location="query"
            ) from None
