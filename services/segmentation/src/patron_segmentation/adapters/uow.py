"""The segmentation unit of work: the shared one plus the customer-fact repository."""

from __future__ import annotations

from patron_segmentation.adapters.repository import SqlFactsRepository
from patron_shared.db import UnitOfWork


class SegmentationUnitOfWork(UnitOfWork):
    facts: SqlFactsRepository

    def _open_repositories(self) -> None:
        self.facts = SqlFactsRepository(self.session, self.tenant_id)
