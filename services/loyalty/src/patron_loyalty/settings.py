"""Loyalty service settings (environment variables; see the README).

The program settings are the defaults of every tenant that has not set its own program
through the API (`PUT /api/v1/loyalty/program`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from patron_loyalty.domain.program import Program
from patron_shared.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class LoyaltySettings(ServiceSettings):
    program_currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", validation_alias=_env("LOYALTY_CURRENCY")
    )
    earn_on: Literal["OrderPaid", "OrderPlaced"] = Field(
        default="OrderPaid", validation_alias=_env("LOYALTY_EARN_ON")
    )
    points_per_currency_unit: int = Field(
        default=100, ge=1, le=1_000_000, validation_alias=_env("LOYALTY_POINTS_PER_CURRENCY_UNIT")
    )
    # 0: points never expire
    expiry_months: int = Field(
        default=12, ge=0, le=1_200, validation_alias=_env("LOYALTY_POINTS_EXPIRY_MONTHS")
    )
    tier_basis: Literal["lifetime", "rolling_12m"] = Field(
        default="lifetime", validation_alias=_env("LOYALTY_TIER_BASIS")
    )
    downgrade_grace_days: int = Field(
        default=0, ge=0, le=3_650, validation_alias=_env("LOYALTY_DOWNGRADE_GRACE_DAYS")
    )

    # 0: off (tests run the jobs by hand)
    daily_jobs_interval_seconds: int = Field(
        default=86_400,
        ge=0,
        le=7 * 86_400,
        validation_alias=_env("LOYALTY_DAILY_JOBS_INTERVAL_SECONDS"),
    )

    def default_program(self) -> Program:
        return Program(
            currency=self.program_currency,
            earn_on=self.earn_on,
            points_per_currency_unit=self.points_per_currency_unit,
            expiry_months=self.expiry_months or None,
            tier_basis=self.tier_basis,
            downgrade_grace_days=self.downgrade_grace_days,
        )
