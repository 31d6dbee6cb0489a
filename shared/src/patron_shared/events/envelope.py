"""The message envelope every Patron topic carries (CloudEvents 1.0 structured mode)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import to_json

TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, normalised to UTC. Naive datetimes are rejected."""

TenantId = Annotated[str, Field(pattern=TENANT_ID_PATTERN, examples=["demo"])]


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_time(moment: datetime) -> str:
    """`moment` as every contract serialises a time (`2026-12-04T10:00:00.123456Z`): for
    events written in bulk (`UnitOfWork.emit_in_bulk`, `emit_from_query`), where a time
    many events share is serialised once, or given to PostgreSQL as it must appear."""
    return to_json(moment).decode()[1:-1]


class Envelope(BaseModel):
    """CloudEvents attributes plus Patron's tenancy and tracing fields.

    `data` stays a plain mapping here; `patron_shared.events.registry.parse_data` turns it
    into the typed contract named by `type`, so an envelope can be routed (or dead-lettered)
    before its payload is understood.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    type: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=200)
    time: UtcDatetime
    tenant_id: TenantId
    subject: str | None = Field(default=None, max_length=200)
    correlation_id: str | None = Field(default=None, max_length=200)
    causation_id: str | None = Field(default=None, max_length=200)
    schema_version: int = Field(default=1, ge=1)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()
