"""The normalised profile every source connector produces, whatever the sender's format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

SHOPIFY = "shopify"
WOOCOMMERCE = "woocommerce"
WHATSAPP = "whatsapp"
# Generic API callers may not claim these names: a webhook source's external ids are only
# trustworthy when they arrived with that source's signature.
SIGNED_SOURCES = frozenset({SHOPIFY, WOOCOMMERCE, WHATSAPP})

ProfileEvent = Literal["upsert", "delete"]


@dataclass(frozen=True)
class SourceAddress:
    """A postal address as the source gave it; `state` holds a state or province (a code
    when the source offers one) and `country` an ISO 3166-1 alpha-2 code."""

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class SourceProfile:
    """One customer as a source describes it. Fields the source left out are None, which
    means "not said", never "cleared"."""

    source: str
    external_id: str
    event: ProfileEvent
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    accepts_marketing: bool | None = None
    address: SourceAddress | None = None
    occurred_at: datetime | None = None
    tags: tuple[str, ...] = ()
    date_of_birth: date | None = None

    def __post_init__(self) -> None:
        if not self.source:
            raise ValueError("source must not be empty")
        if not self.external_id:
            raise ValueError("external_id must not be empty")
        if self.occurred_at is not None:
            if self.occurred_at.utcoffset() is None:
                raise ValueError("occurred_at must be timezone-aware")
            object.__setattr__(self, "occurred_at", self.occurred_at.astimezone(UTC))

    @property
    def external_key(self) -> str:
        return f"{self.source}:{self.external_id}"
