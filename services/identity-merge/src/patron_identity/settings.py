"""Identity service settings (environment variables; see the README)."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator

from patron_identity.domain.duplicates import MatchPolicy
from patron_identity.domain.matching import NormalizationRules, Thresholds
from patron_shared.secrets import DEV_SECRETS_KEY, SecretBox, parse_keys
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
    # File dedupe over HTTP: bigger files go through the command line.
    dedupe_file_max_rows: int = Field(
        default=100_000, ge=1, validation_alias=AliasChoices("IDENTITY_DEDUPE_FILE_MAX_ROWS")
    )
    dedupe_file_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        validation_alias=AliasChoices("IDENTITY_DEDUPE_FILE_MAX_BYTES"),
    )
    # Where sources reach the webhooks (the gateway's public URL); unset: the URL the
    # registering request came in on.
    webhook_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        validation_alias=AliasChoices("IDENTITY_WEBHOOK_BASE_URL"),
    )
    source_batch_max_profiles: int = Field(
        default=500,
        ge=1,
        le=10_000,
        validation_alias=AliasChoices("IDENTITY_SOURCE_BATCH_MAX_PROFILES"),
    )

    # Duplicate screening defaults for tenants that set no policy of their own.
    exact_match_policy: Literal["merge", "review"] = Field(
        default="merge", validation_alias=AliasChoices("IDENTITY_EXACT_MATCH_POLICY")
    )
    auto_merge_threshold: float = Field(
        default=Thresholds().auto_merge,
        gt=0,
        le=1,
        validation_alias=AliasChoices("IDENTITY_AUTO_MERGE_THRESHOLD"),
    )
    review_threshold: float = Field(
        default=Thresholds().review,
        gt=0,
        le=1,
        validation_alias=AliasChoices("IDENTITY_REVIEW_THRESHOLD"),
    )

    # How long a webhook delivery is remembered, so that its replay changes nothing (sources
    # stop retrying within days).
    source_delivery_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        validation_alias=AliasChoices("IDENTITY_SOURCE_DELIVERY_RETENTION_DAYS"),
    )
    # Fernet keys that seal connector secrets at rest, comma-separated, newest first (it
    # seals; all open). Generate one with `patron identity new-secrets-key`.
    connector_secrets_keys: SecretStr = Field(
        default=SecretStr(DEV_SECRETS_KEY),
        validation_alias=AliasChoices("IDENTITY_CONNECTOR_SECRETS_KEYS"),
    )

    @field_validator("connector_secrets_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        try:
            parse_keys(value.get_secret_value())
        except ValueError as exc:
            raise ValueError(f"IDENTITY_CONNECTOR_SECRETS_KEYS: {exc}") from None
        return value

    @model_validator(mode="after")
    def _review_below_auto_merge(self) -> IdentitySettings:
        if self.review_threshold > self.auto_merge_threshold:
            raise ValueError(
                "IDENTITY_REVIEW_THRESHOLD must not be greater than IDENTITY_AUTO_MERGE_THRESHOLD"
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_key_in_production(self) -> IdentitySettings:
        keys = parse_keys(self.connector_secrets_keys.get_secret_value())
        if self.env == "production" and DEV_SECRETS_KEY in keys:
            raise ValueError("IDENTITY_CONNECTOR_SECRETS_KEYS must be set in production")
        return self

    @cached_property
    def secret_box(self) -> SecretBox:
        """Seals and opens connector secrets with the configured keys."""
        return SecretBox(parse_keys(self.connector_secrets_keys.get_secret_value()))

    def match_policy(self) -> MatchPolicy:
        """The match policy of tenants that set none."""
        return MatchPolicy(
            exact_match=self.exact_match_policy,
            auto_merge_threshold=self.auto_merge_threshold,
            review_threshold=self.review_threshold,
            rules=self.normalization_rules(),
        )

    def normalization_rules(self) -> NormalizationRules:
        return NormalizationRules(
            default_phone_region=self.phone_default_region,
            gmail_dots=self.email_ignore_gmail_dots,
            plus_tags=self.email_ignore_plus_tags,
        )
