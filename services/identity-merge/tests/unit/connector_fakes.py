"""In-memory stand-ins for the connector and delivery repositories."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from patron_identity.domain.connectors import (
    Connector,
    ConnectorCursor,
    ConnectorSource,
    DeliveryRecord,
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


@dataclass
class FakeSourceDeliveryRepository:
    records: dict[tuple[str, str], DeliveryRecord] = field(default_factory=dict)

    async def claim(self, channel: str, key: str, fingerprint: str) -> DeliveryRecord | None:
        earlier = self.records.get((channel, key))
        if earlier is not None:
            return copy.deepcopy(earlier)
        self.records[(channel, key)] = DeliveryRecord(fingerprint=fingerprint, outcome=[])
        return None

    async def record_outcome(self, channel: str, key: str, outcome: list[dict[str, Any]]) -> None:
        earlier = self.records[(channel, key)]
        self.records[(channel, key)] = DeliveryRecord(earlier.fingerprint, copy.deepcopy(outcome))


class FakeSourceUnitOfWork(FakeIdentityUnitOfWork):
    repositories = (*FakeIdentityUnitOfWork.repositories, "connectors", "source_deliveries")

    def __init__(self, tenant_id: str = "demo") -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.connectors = FakeConnectorRepository()
        self.source_deliveries = FakeSourceDeliveryRepository()
