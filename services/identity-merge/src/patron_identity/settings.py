"""Identity service settings (environment variables; see the README)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from patron_identity.domain.matching import NormalizationRules
from patron_shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    phone_default_region: str = Field(
        default="US",
        pattern=r"^[A-Z]{2}$",
        validation_alias=AliasChoices("IDENTITY_PHONE_DEFAULT_REGION"),
    )
    email_ignore_gmail_dots: bool = Field(
        default=True, validation_alias=AliasChoices("IDENTITY_EMAIL_IGNORE_GMAIL_DOTS")
    )
    email_ignore_plus_tags: bool = Field(
        default=True, validation_alias=AliasChoices("IDENTITY_EMAIL_IGNORE_PLUS_TAGS")
    )

    def normalization_rules(self) -> NormalizationRules:
        return NormalizationRules(
            default_phone_region=self.phone_default_region,
            gmail_dots=self.email_ignore_gmail_dots,
            plus_tags=self.email_ignore_plus_tags,
        )
