"""The audit log: who changed what through the API, kept in the service's own database."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_identity.adapters.tables import audit_log


class SqlAuditLog:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def record(
        self,
        *,
        actor: str,
        action: str,
        customer_id: uuid.UUID | None,
        details: Mapping[str, Any],
        at: datetime | None = None,
    ) -> None:
        """One entry, written in the transaction of the change it describes."""
        values: dict[str, Any] = {
            "tenant_id": self._tenant_id,
            "entry_id": uuid.uuid4(),
            "actor": actor,
            "action": action,
            "customer_id": customer_id,
            "details": dict(details),
        }
        if at is not None:
            values["occurred_at"] = at
        await self._session.execute(insert(audit_log).values(**values))
