"""In-memory stand-ins for the connector and delivery repositories."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from patron_identity.domain.connectors import (
    Connector,
    ConnectorCursor,
    ConnectorSource,
)

from .fakes import FakeIdentityUnitOfWork


@dataclass
class FakeConnectorRepository:
    rows: dict[uuid.UUID, Connector] = field(default_factory=dict)

    async def add(self, connector: Connector) -> bool:
        if any(
            c.active and (c.source, c.account) == (connector.source, connector.account)
            for c in self.rows.values()
        ):
            return False
        self.rows[connector.id] = connector
        return True

    async def get(self, connector_id: uuid.UUID, *, for_update: bool = False) -> Connector | None:
        return self.rows.get(connector_id)

    async def save(self, connector: Connector) -> None:
        self.rows[connector.id] = connector

    async def page(
        self,
        *,
        source: ConnectorSource | None,
        active_only: bool,
        after: ConnectorCursor | None,
        limit: int,
    ) -> Sequence[Connector]:
        found = sorted(self.rows.values(), key=lambda c: (c.created_at, c.id))
        return [
            c
            for c in found
            if (source is None or c.source == source)
            and (not active_only or c.active)
            and (after is None or (c.created_at, c.id) > (after.created_at, after.id))
        ][:limit]


@dataclass
class FakeConnectorDirectory:
    """Every tenant's connectors, as the webhook lookup sees them."""

    rows: dict[uuid.UUID, Connector] = field(default_factory=dict)

    async def find(self, connector_id: uuid.UUID) -> Connector | None:
        return self.rows.get(connector_id)


class FakeSourceUnitOfWork(FakeIdentityUnitOfWork):
    repositories = (*FakeIdentityUnitOfWork.repositories, "connectors")

    def __init__(self, tenant_id: str = "demo") -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.connectors = FakeConnectorRepository()
