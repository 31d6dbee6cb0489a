"""Redemptions: points turned into a discount, at once or through a checkout hold.

A direct redemption takes the points and gives a one-time discount code. A hold reserves
points for a checkout (they stay in the balance but cannot be taken) until it is confirmed
(the points are taken, a code is given), cancelled, or left to lapse at `hold_expires_at`.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

RedemptionStatus = Literal["held", "redeemed", "cancelled"]

# no 0/O, 1/I/L: a code is read aloud and typed at a till
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_discount_code() -> str:
    body = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"PTS-{body[:4]}-{body[4:8]}-{body[8:]}"


@dataclass
class Redemption:
    redemption_id: uuid.UUID
    customer_id: uuid.UUID
    points: int
    discount: Decimal
    currency: str
    status: RedemptionStatus
    created_at: datetime
    code: str | None = None
    order_id: str | None = None
    hold_expires_at: datetime | None = None
    entry_id: uuid.UUID | None = None
    idempotency_key: str | None = None
    settled_at: datetime | None = None

    def is_open_hold(self, now: datetime) -> bool:
        return self.status == "held" and (
            self.hold_expires_at is None or self.hold_expires_at > now
        )

    def lapsed(self, now: datetime) -> bool:
        """A hold left past its expiry: it reserves nothing and can no longer be confirmed."""
        return self.status == "held" and not self.is_open_hold(now)
