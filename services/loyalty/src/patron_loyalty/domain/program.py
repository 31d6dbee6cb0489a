"""A tenant's loyalty program: how points are earned, what they are worth, when they
expire, and the tiers they lead to.

Defaults follow the product docs: Bronze (0-999 points, 10 points per unit of currency),
Silver (1,000-4,999, 12 per unit), Gold (5,000+, 15 per unit); 100 points are worth 1 unit;
points expire 12 months after they are earned; tiers count lifetime points. Orders earn in
the program's currency, and in other currencies at the rates the program gives for them
(`exchange_rates`); an order in a currency without a rate earns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Literal

TierBasis = Literal["lifetime", "rolling_12m"]
EarnEvent = Literal["OrderPaid", "OrderPlaced"]

_CENT = Decimal("0.01")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# a rate's digits after the point: enough for any published rate, and the rate an order
# earned at (tier rate x exchange rate) stays exact where it is kept
EXCHANGE_RATE_PLACES = 6


class ProgramError(ValueError):
    """A program that cannot work (thresholds out of order, no tiers...); names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Tier:
    key: str
    name: str
    min_points: int
    # points per 1 unit of the program's currency spent on merchandise
    earn_rate: Decimal
    benefits: tuple[str, ...] = ()


DEFAULT_TIERS = (
    Tier("bronze", "Bronze", 0, Decimal(10), ("birthday_gift",)),
    Tier("silver", "Silver", 1_000, Decimal(12), ("birthday_gift", "free_shipping")),
    Tier(
        "gold",
        "Gold",
        5_000,
        Decimal(15),
        ("birthday_gift", "free_shipping", "priority_support", "exclusive_sales"),
    ),
)


@dataclass(frozen=True)
class Program:
    currency: str = "USD"
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    # 100 points = 1 unit of currency
    points_per_currency_unit: int = 100
    expiry_months: int | None = 12
    tier_basis: TierBasis = "lifetime"
    downgrade_grace_days: int = 0
    earn_on: EarnEvent = "OrderPaid"
    # currency -> how many units of the program's currency one unit of it is worth
    exchange_rates: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ProgramError("tiers", "a program needs at least one tier")
        if self.tiers[0].min_points != 0:
            raise ProgramError("tiers", "the first tier must start at 0 points")
        keys = [tier.key for tier in self.tiers]
        if len(set(keys)) != len(keys):
            raise ProgramError("tiers", "tier keys must be unique")
        thresholds = [tier.min_points for tier in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ProgramError("tiers", "tier thresholds must increase strictly")
        if any(tier.earn_rate < 0 for tier in self.tiers):
            raise ProgramError("tiers", "an earn rate cannot be negative")
        if self.points_per_currency_unit < 1:
            raise ProgramError("points_per_currency_unit", "must be at least 1")
        if self.expiry_months is not None and self.expiry_months < 1:
            raise ProgramError("expiry_months", "must be at least 1 (or null: never)")
        if self.downgrade_grace_days < 0:
            raise ProgramError("downgrade_grace_days", "cannot be negative")
        for currency, rate in self.exchange_rates.items():
            _check_exchange_rate(currency, rate, self.currency)

    def conversion_from(self, currency: str | None) -> Decimal | None:
        """What one unit of `currency` is worth in the program's currency, for earning; None
        when the program gives it no rate (its orders earn nothing)."""
        if currency == self.currency:
            return Decimal(1)
        return self.exchange_rates.get(currency) if currency is not None else None

    @property
    def entry_tier(self) -> Tier:
        return self.tiers[0]

    def tier(self, key: str | None) -> Tier:
        """The tier with this key; the entry tier for an unknown or retired key."""
        return next((tier for tier in self.tiers if tier.key == key), self.entry_tier)

    def rank(self, key: str | None) -> int:
        return next((n for n, tier in enumerate(self.tiers) if tier.key == key), 0)

    def tier_for(self, qualifying_points: int) -> Tier:
        """The highest tier whose threshold the points reach."""
        reached = [tier for tier in self.tiers if qualifying_points >= tier.min_points]
        return reached[-1] if reached else self.entry_tier

    def expires_at(self, earned_at: datetime) -> datetime | None:
        if self.expiry_months is None:
            return None
        return add_months(earned_at, self.expiry_months)

    def cash_value(self, points: int) -> Decimal:
        """What the points are worth at redemption, in cents rounded down."""
        value = Decimal(points) / Decimal(self.points_per_currency_unit)
        return value.quantize(_CENT, ROUND_DOWN)


def _check_exchange_rate(currency: str, rate: Decimal, program_currency: str) -> None:
    name = f"exchange_rates.{currency}"
    if not _CURRENCY.match(currency):
        raise ProgramError(name, "a currency is an ISO 4217 code such as EUR")
    if currency == program_currency:
        raise ProgramError(name, "the program's own currency needs no rate")
    if not rate.is_finite() or rate <= 0:
        raise ProgramError(name, "a rate must be above 0")
    if -int(rate.as_tuple().exponent) > EXCHANGE_RATE_PLACES:
        raise ProgramError(name, f"at most {EXCHANGE_RATE_PLACES} decimal places")


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; the month's last day when it is shorter."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def rolling_window_start(now: datetime) -> datetime:
    """Where the rolling 12-month tier window begins."""
    return add_months(now, -12)
