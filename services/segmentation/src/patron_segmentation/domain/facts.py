"""Customer facts: what segments are computed from, one row per customer.

These facts come from the profile's customer events; order facts (counts, spend, recency)
join them from order events (`domain.orders`), written apart so neither kind of event
overwrites the other's. Events about one customer may arrive late or twice, so
each change says whether it changed anything and a stale snapshot never rolls facts back.
Deleted is final.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from patron_segmentation.domain.orders import OrderFacts
from patron_shared.events import CustomerSnapshot


@dataclass
class CustomerFacts:
    customer_id: uuid.UUID
    # The newest `customer.updated_at` (or deletion time) these facts reflect.
    source_updated_at: datetime
    tags: list[str] = field(default_factory=list)
    accepts_marketing: bool = False
    status: str = "active"
    # When the customer registered; None while only its deletion is known.
    registered_at: datetime | None = None
    date_of_birth: date | None = None
    gender: str | None = None
    # where the customer came from (shopify, woocommerce, whatsapp, ...): acquisition reports
    source: str | None = None
    deleted_at: datetime | None = None
    # merged into this customer: its snapshots are still taken (an unmerge brings it back
    # as it is then), but no segment holds it meanwhile
    merged_into: uuid.UUID | None = None
    group_id: uuid.UUID | None = None
    orders: OrderFacts = field(default_factory=OrderFacts)
    # from address, loyalty and notification events, written apart (`adapters.more_facts`)
    country: str | None = None
    state: str | None = None
    city: str | None = None
    loyalty_tier: str | None = None
    messages_sent: int = 0
    messages_opened: int = 0

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None and self.merged_into is None

    @classmethod
    def from_snapshot(cls, customer_id: uuid.UUID, customer: CustomerSnapshot) -> CustomerFacts:
        facts = cls(customer_id=customer_id, source_updated_at=customer.updated_at)
        facts._take(customer)
        return facts

    @classmethod
    def tombstone(cls, customer_id: uuid.UUID, at: datetime) -> CustomerFacts:
        """A customer deleted before its creation was seen: a late snapshot stays ignored."""
        return cls(customer_id=customer_id, source_updated_at=at, deleted_at=at)

    def apply(self, customer: CustomerSnapshot) -> bool:
        """Take a newer snapshot; False when it is stale or the customer is gone."""
        if self.deleted_at is not None or customer.updated_at <= self.source_updated_at:
            return False
        self._take(customer)
        self.source_updated_at = customer.updated_at
        return True

    def delete(self, *, at: datetime) -> bool:
        if self.deleted_at is not None:
            return False
        self.deleted_at = at
        self.source_updated_at = max(self.source_updated_at, at)
        return True

    def _take(self, customer: CustomerSnapshot) -> None:
        self.tags = list(customer.tags)
        self.accepts_marketing = customer.accepts_marketing
        self.status = customer.status
        self.registered_at = customer.created_at
        self.date_of_birth = customer.date_of_birth
        self.gender = customer.gender
        self.source = customer.source
        self.group_id = customer.group_id


def location_of(addresses: dict[str, dict[str, Any]]) -> tuple[str | None, str | None, str | None]:
    """(country, state, city) of the customer's address that says where it is: the default
    shipping address, else the default billing one, else the first by id."""

    def rank(item: tuple[str, dict[str, Any]]) -> tuple[int, str]:
        address_id, address = item
        if address.get("is_default") and address.get("type") == "shipping":
            return 0, address_id
        if address.get("is_default"):
            return 1, address_id
        return 2, address_id

    if not addresses:
        return None, None, None
    _, chosen = min(addresses.items(), key=rank)
    country = chosen.get("country")
    return (country.upper() if country else None), chosen.get("state"), chosen.get("city")
