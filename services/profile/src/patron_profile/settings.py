"""Profile service settings (environment variables; see the README)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from patron_shared.settings import ServiceSettings


class ProfileSettings(ServiceSettings):
    customers_per_page: int = Field(
        default=20, ge=1, validation_alias=AliasChoices("CUSTOMERS_PER_PAGE")
    )
    customers_max_per_page: int = Field(
        default=100, ge=1, le=1000, validation_alias=AliasChoices("CUSTOMERS_MAX_PER_PAGE")
    )
    customers_count_limit: int = Field(
        default=1_000, ge=1, validation_alias=AliasChoices("CUSTOMERS_COUNT_LIMIT")
    )
    phone_default_region: str = Field(
        default="US",
        pattern=r"^[A-Z]{2}$",
        validation_alias=AliasChoices("PROFILE_PHONE_DEFAULT_REGION"),
    )
