"""Settings every Patron process reads from the environment (prefix `PATRON_`).

Services subclass `ServiceSettings` and add their own fields; the README lists every variable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "patron-development-secret-change-me-in-production"  # noqa: S105 - refused when PATRON_ENV=production


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATRON_", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://patron_app:patron_app@127.0.0.1:55432/patron"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # Single-statement reads (e.g. a customer by id) have a small pool of their own.
    database_read_pool_size: int = Field(default=10, ge=1, le=200)
    kafka_bootstrap: str = "127.0.0.1:19092"
    # lz4: a fraction of gzip's CPU for producer, broker and consumers, on small JSON events
    kafka_compression: Literal["none", "gzip", "lz4", "zstd"] = "lz4"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_public_key: str | None = None
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=600)
    # A verified token is remembered (until it expires, at most this long): a client sends
    # the same token with every request. 0 verifies every time.
    jwt_cache_seconds: int = Field(default=60, ge=0, le=3600)

    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_poll_interval_ms: int = Field(default=100, ge=5, le=60_000)
    outbox_retention_hours: int = Field(default=72, ge=1)
    outbox_relay_in_process: bool = False
    inbox_retention_days: int = Field(default=30, ge=1)

    # A prefix lets several deployments (or test runs) share one cluster without sharing
    # consumer groups; `latest` makes a brand-new group skip history (tests, replays).
    consumer_group_prefix: str = Field(default="", pattern=r"^[a-z0-9._-]{0,60}$")
    consumer_offset_reset: Literal["earliest", "latest"] = "earliest"
    # Consumers per group in each process (partitions are shared out; order per partition
    # is kept). Offsets of handled messages are committed at most this often.
    consumer_concurrency: int = Field(default=4, ge=1, le=64)
    consumer_commit_interval_ms: int = Field(default=200, ge=0, le=60_000)
    # A consumer group that handles its messages in batches runs this many consumers per
    # process, each taking up to `consumer_batch_max_records` per poll.
    consumer_batch_concurrency: int = Field(default=2, ge=1, le=64)
    consumer_batch_max_records: int = Field(default=500, ge=1, le=10_000)
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    consumer_retry_backoff_max_ms: int = Field(default=10_000, ge=0)

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> ServiceSettings:
        if (
            self.env == "production"
            and self.jwt_algorithm == "HS256"
            and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET
        ):
            raise ValueError("PATRON_JWT_SECRET must be set in production")
        if self.jwt_algorithm == "RS256" and not (self.jwt_public_key or self.jwks_url):
            raise ValueError("RS256 needs PATRON_JWT_PUBLIC_KEY or PATRON_JWKS_URL")
        return self
