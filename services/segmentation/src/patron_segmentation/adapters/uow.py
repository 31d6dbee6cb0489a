"""The segmentation unit of work: the shared one plus the fact and order repositories."""

from __future__ import annotations

from patron_segmentation.adapters.orders import SqlOrderRepository
from patron_segmentation.adapters.repository import SqlFactsRepository
from patron_shared.db import UnitOfWork


class SegmentationUnitOfWork(UnitOfWork):
    facts: SqlFactsRepository
    orders: SqlOrderRepository

    def _open_repositories(self) -> None:
        self.facts = SqlFactsRepository(self.session, self.tenant_id)
        self.orders = SqlOrderRepository(self.session, self.tenant_id)
