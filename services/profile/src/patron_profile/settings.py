"""Profile service settings (environment variables; see the README)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator

from patron_shared.settings import ServiceSettings

DEV_ERASURE_HASH_KEY = "patron-development-erasure-key-change-me"


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

    # GDPR export: where the other services answer (their own URLs, not the gateway's), and
    # how long the export waits for each of them.
    identity_url: str = "http://127.0.0.1:8002"
    segmentation_url: str = "http://127.0.0.1:8003"
    loyalty_url: str = "http://127.0.0.1:8004"
    notifications_url: str = "http://127.0.0.1:8005"
    export_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    import_directory: Path = Field(
        default=Path(tempfile.gettempdir()) / "patron-profile-imports",
        validation_alias=AliasChoices("PROFILE_IMPORT_DIR"),
    )
    import_max_bytes: int = Field(
        default=1 << 30, ge=1, validation_alias=AliasChoices("PROFILE_IMPORT_MAX_BYTES")
    )
    # Rows per transaction. Larger batches spread each batch's fixed work (its statements,
    # its staging table) over more rows; an existing customer a batch updates stays locked
    # until the batch commits (well under a second at this size).
    import_batch_size: int = Field(
        default=5_000, ge=1, le=50_000, validation_alias=AliasChoices("PROFILE_IMPORT_BATCH_SIZE")
    )
    # Batches of one import written at once, each on its own connection.
    import_writers: int = Field(
        default=3, ge=1, le=8, validation_alias=AliasChoices("PROFILE_IMPORT_WRITERS")
    )
    # How often a process looks for interrupted imports whose file it has, to resume them.
    import_resume_interval_seconds: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        validation_alias=AliasChoices("PROFILE_IMPORT_RESUME_INTERVAL_SECONDS"),
    )
    # GDPR erasure: how often the erased customers' records are looked for in the dead-letter
    # topics (0: never, the erasures then wait for their `dead_letters` acknowledgement).
    dead_letter_scrub_interval_seconds: float = Field(default=30.0, ge=0, le=86_400)
    # The key of the hashes a pending scrub keeps of the erased values: without it they
    # cannot be tested against guesses. When it changes, the keys before it (comma-separated)
    # let the scrubs pending at the time match: each names the key it was made under.
    erasure_hash_key: SecretStr = SecretStr(DEV_ERASURE_HASH_KEY)
    erasure_hash_previous_keys: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _refuse_dev_erasure_key_in_production(self) -> ProfileSettings:
        if (
            self.env == "production"
            and self.erasure_hash_key.get_secret_value() == DEV_ERASURE_HASH_KEY
        ):
            raise ValueError("PATRON_ERASURE_HASH_KEY must be set in production")
        return self

    @property
    def erasure_hash_key_bytes(self) -> bytes:
        return self.erasure_hash_key.get_secret_value().encode()

    @property
    def erasure_hash_keys(self) -> list[bytes]:
        """The current key, then the previous ones."""
        previous = self.erasure_hash_previous_keys.get_secret_value().split(",")
        return [self.erasure_hash_key_bytes, *(k.strip().encode() for k in previous if k.strip())]
