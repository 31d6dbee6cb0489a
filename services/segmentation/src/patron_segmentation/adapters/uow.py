"""The segmentation unit of work: the shared one plus facts, orders, segments, members."""

from __future__ import annotations

from patron_segmentation.adapters.insights import SqlInsightRepository
from patron_segmentation.adapters.memberships import SqlMembershipRepository
from patron_segmentation.adapters.orders import SqlOrderRepository
from patron_segmentation.adapters.reports import SqlReportQueries
from patron_segmentation.adapters.repository import SqlFactsRepository
from patron_segmentation.adapters.rfm import SqlRfmQueries
from patron_segmentation.adapters.segments import SqlMemberQueries, SqlSegmentRepository
from patron_segmentation.adapters.side_facts import SqlSideFactsRepository
from patron_segmentation.domain.builtin_segments import BuiltinThresholds
from patron_segmentation.settings import SegmentationSettings
from patron_shared.db import UnitOfWork


class SegmentationUnitOfWork(UnitOfWork):
    facts: SqlFactsRepository
    orders: SqlOrderRepository
    segments: SqlSegmentRepository
    members: SqlMemberQueries
    memberships: SqlMembershipRepository
    rfm: SqlRfmQueries
    insights: SqlInsightRepository
    side_facts: SqlSideFactsRepository
    reports: SqlReportQueries

    @property
    def builtin_thresholds(self) -> BuiltinThresholds:
        """The built-in segments' thresholds, from the service's settings."""
        if isinstance(self.settings, SegmentationSettings):
            return self.settings.builtin_thresholds()
        return BuiltinThresholds()

    def _open_repositories(self) -> None:
        self.facts = SqlFactsRepository(self.session, self.tenant_id)
        self.orders = SqlOrderRepository(self.session, self.tenant_id)
        self.segments = SqlSegmentRepository(self.session, self.tenant_id)
        self.members = SqlMemberQueries(self.session, self.tenant_id)
        self.memberships = SqlMembershipRepository(self.session, self.tenant_id)
        self.rfm = SqlRfmQueries(self.session, self.tenant_id)
        self.insights = SqlInsightRepository(self.session, self.tenant_id)
        self.side_facts = SqlSideFactsRepository(self.session, self.tenant_id)
        self.reports = SqlReportQueries(self.session, self.tenant_id)
