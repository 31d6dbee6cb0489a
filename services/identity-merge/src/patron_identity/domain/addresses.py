"""The addresses identity knows of a customer, and which one it matches people on.

Address events carry no timestamp, but one customer's events arrive in order (the topic is
keyed by customer), so the order addresses were first seen in is the order they were created
in: each gets the next sequence number, and "newest" is the highest.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from patron_shared.events import AddressSnapshot


@dataclass(frozen=True)
class KnownAddress:
    type: str  # "billing" or "shipping"
    is_default: bool
    sequence: int  # arrival order of the address's creation; the newest is the highest
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None

    @classmethod
    def of(cls, snapshot: AddressSnapshot, *, sequence: int) -> KnownAddress:
        return cls(
            type=snapshot.type,
            is_default=snapshot.is_default,
            sequence=sequence,
            address1=snapshot.address1,
            address2=snapshot.address2,
            city=snapshot.city,
            state=snapshot.state,
            postcode=snapshot.pincode,
            country=snapshot.country,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "is_default": self.is_default,
            "sequence": self.sequence,
            "address1": self.address1,
            "address2": self.address2,
            "city": self.city,
            "state": self.state,
            "postcode": self.postcode,
            "country": self.country,
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> KnownAddress:
        return cls(**stored)


def matching_address(addresses: Mapping[uuid.UUID, KnownAddress]) -> KnownAddress | None:
    """The address a customer is matched on: the default shipping address, else the newest."""
    default_shipping = [a for a in addresses.values() if a.type == "shipping" and a.is_default]
    candidates = default_shipping or list(addresses.values())
    return max(candidates, key=lambda a: a.sequence, default=None)
