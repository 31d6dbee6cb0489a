"""The identity unit of work: the shared one plus the customer and identifier repositories."""

from __future__ import annotations

from functools import cache

from patron_identity.adapters.audit import SqlAuditLog
from patron_identity.adapters.connectors import SqlConnectorRepository, SqlSourceDeliveryRepository
from patron_identity.adapters.dedupe_runs import SqlDedupeRunRepository
from patron_identity.adapters.identifiers import SqlIdentifierRepository
from patron_identity.adapters.lineage import SqlLineageRepository
from patron_identity.adapters.matching import (
    SqlMatchKeyRepository,
    SqlMatchModelRepository,
    SqlMatchPolicyRepository,
    SqlRejectedPairRepository,
    SqlSuggestionRepository,
)
from patron_identity.adapters.repository import SqlCustomerRepository
from patron_identity.domain.duplicates import MatchPolicy
from patron_identity.settings import IdentitySettings
from patron_shared.db import UnitOfWork


class IdentityUnitOfWork(UnitOfWork):
    customers: SqlCustomerRepository
    identifiers: SqlIdentifierRepository
    lineage: SqlLineageRepository
    audit: SqlAuditLog
    connectors: SqlConnectorRepository
    source_deliveries: SqlSourceDeliveryRepository
    match_keys: SqlMatchKeyRepository
    suggestions: SqlSuggestionRepository
    rejected_pairs: SqlRejectedPairRepository
    match_policies: SqlMatchPolicyRepository
    match_models: SqlMatchModelRepository
    dedupe_runs: SqlDedupeRunRepository

    @property
    def match_policy_defaults(self) -> MatchPolicy:
        """The match policy of tenants that chose none, from the service's settings."""
        if isinstance(self.settings, IdentitySettings):
            return self.settings.match_policy()
        return MatchPolicy()

    @property
    def _identity_settings(self) -> IdentitySettings:
        # built by hand (tests, tools): the settings' own defaults
        if isinstance(self.settings, IdentitySettings):
            return self.settings
        return _default_settings()

    def _open_repositories(self) -> None:
        self.customers = SqlCustomerRepository(self.session, self.tenant_id)
        self.identifiers = SqlIdentifierRepository(self.session, self.tenant_id)
        self.lineage = SqlLineageRepository(self.session, self.tenant_id)
        self.audit = SqlAuditLog(self.session, self.tenant_id)
        self.connectors = SqlConnectorRepository(
            self.session, self.tenant_id, self._identity_settings.secret_box
        )
        self.source_deliveries = SqlSourceDeliveryRepository(self.session, self.tenant_id)
        self.match_keys = SqlMatchKeyRepository(self.session, self.tenant_id)
        self.suggestions = SqlSuggestionRepository(self.session, self.tenant_id)
        self.rejected_pairs = SqlRejectedPairRepository(self.session, self.tenant_id)
        self.match_policies = SqlMatchPolicyRepository(
            self.session, self.tenant_id, self.match_policy_defaults
        )
        self.match_models = SqlMatchModelRepository(self.session, self.tenant_id)
        self.dedupe_runs = SqlDedupeRunRepository(self.session, self.tenant_id)


@cache
def _default_settings() -> IdentitySettings:
    return IdentitySettings()
