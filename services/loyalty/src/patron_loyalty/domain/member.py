"""A loyalty membership: every customer the profile knows is a member until deleted.

Points, tiers and cards will hang off the membership. Closing it keeps the member: ledgers
are kept for accounting. Events about one customer may arrive late or twice, so each change
says whether it changed anything and a stale snapshot never rolls the membership back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from patron_shared.events import CustomerSnapshot

MemberStatus = Literal["active", "closed"]


@dataclass
class LoyaltyMember:
    customer_id: uuid.UUID
    # None only while the customer's deletion is known but its creation is not (yet).
    member_since: datetime | None
    status: MemberStatus
    # The newest `customer.updated_at` (or deletion time) this membership reflects.
    source_updated_at: datetime
    closed_at: datetime | None = None

    @classmethod
    def enroll(cls, customer_id: uuid.UUID, customer: CustomerSnapshot) -> LoyaltyMember:
        return cls(
            customer_id=customer_id,
            member_since=customer.created_at,
            status="active",
            source_updated_at=customer.updated_at,
        )

    @classmethod
    def tombstone(cls, customer_id: uuid.UUID, closed_at: datetime) -> LoyaltyMember:
        """A membership closed before its enrolment was seen: a late enrolment stays closed."""
        return cls(
            customer_id=customer_id,
            member_since=None,
            status="closed",
            source_updated_at=closed_at,
            closed_at=closed_at,
        )

    @property
    def is_enrolled(self) -> bool:
        return self.member_since is not None

    def apply(self, customer: CustomerSnapshot) -> bool:
        """Take what a snapshot adds; False when it is stale or repeats what is known."""
        changed = False
        if self.member_since is None:  # a creation date is a fact, not state to roll back
            self.member_since = customer.created_at
            changed = True
        if customer.updated_at > self.source_updated_at:
            self.source_updated_at = customer.updated_at
            changed = True
        return changed

    def close(self, *, at: datetime) -> bool:
        """Close the membership (the customer was deleted); False when already closed."""
        if self.status == "closed":
            return False
        self.status = "closed"
        self.closed_at = at
        self.source_updated_at = max(self.source_updated_at, at)
        return True
