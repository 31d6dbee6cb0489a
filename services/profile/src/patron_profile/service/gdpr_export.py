"""GDPR export: one document with every service's data on one customer.

The profile's part comes from its own database; the other services' parts come from their
internal export endpoints, all at once. A part that does not come (timeout, connection
refused, an error status) is listed in `missing` and its slot is null: the export still
answers, and says what it lacks.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from patron_shared.db.export import EXPORT_ROWS_PER_PART, ExportDocument
from patron_shared.errors import NotFound
from patron_shared.events import utcnow

PROFILE = "profile"


@dataclass(frozen=True)
class PartUnavailable:
    """A service's part that did not come, and why."""

    service: str
    reason: str


class ProfileExport(Protocol):
    async def read(self, customer_id: uuid.UUID) -> ExportDocument: ...
    async def record_export(self, customer_id: uuid.UUID, at: datetime) -> None:
        """Note in the customer's audit log that the caller exported them."""


class RemoteExportParts(Protocol):
    async def fetch_all(
        self, customer_id: uuid.UUID, authorization: str
    ) -> dict[str, dict[str, Any] | PartUnavailable]: ...


async def export_customer(
    own: ProfileExport,
    remote: RemoteExportParts,
    customer_id: uuid.UUID,
    *,
    tenant_id: str,
    authorization: str,
) -> dict[str, Any]:
    """The whole export of `customer_id`; 404 when the profile has never known them. An
    export is a read of personal data: the customer's audit log records it."""
    local, parts = await asyncio.gather(
        own.read(customer_id), remote.fetch_all(customer_id, authorization)
    )
    if local.data.get("customer") is None:
        raise NotFound(f"customer {customer_id} not found")
    exported_at = utcnow()
    await own.record_export(customer_id, exported_at)
    services: dict[str, Any] = {PROFILE: local.data}
    truncated = [{"service": PROFILE, "part": part} for part in local.truncated]
    missing: list[dict[str, str]] = []
    for service, part in parts.items():
        if isinstance(part, PartUnavailable):
            services[service] = None
            missing.append({"service": service, "reason": part.reason})
            continue
        services[service] = part["data"]
        truncated.extend(
            {"service": service, "part": str(name)} for name in part.get("truncated") or ()
        )
    return {
        "customer_id": str(customer_id),
        "tenant_id": tenant_id,
        "exported_at": exported_at.isoformat(),
        "complete": not missing and not truncated,
        "rows_per_part": EXPORT_ROWS_PER_PART,
        "services": services,
        "missing": missing,
        "truncated": truncated,
    }
