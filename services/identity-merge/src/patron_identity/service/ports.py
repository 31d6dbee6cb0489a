"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from patron_identity.domain.connectors import (
    Connector,
    ConnectorCursor,
    ConnectorSource,
    DeliveryRecord,
)
from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.dedupe_runs import DedupeRun, RunCursor
from patron_identity.domain.duplicates import (
    DuplicateSuggestion,
    MatchPolicy,
    SuggestionCursor,
    SuggestionFilters,
    SuggestionSort,
)
from patron_identity.domain.identifiers import OwnedIdentifier
from patron_identity.domain.lineage import MergeRecord, TransferredIdentifier
from patron_identity.domain.matching import MatchModel
from patron_identity.domain.resolution import Identifier
from patron_shared.db.ports import ErasingUnitOfWorkProtocol, UnitOfWorkProtocol


class CustomerRepository(Protocol):
    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> IdentityCustomer | None: ...
    async def many(
        self, customer_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, IdentityCustomer]: ...
    async def save(self, customer: IdentityCustomer) -> None: ...


class IdentifierRepository(Protocol):
    async def owners(self, wanted: Iterable[Identifier]) -> dict[Identifier, uuid.UUID]: ...
    async def claim(
        self, identifier: Identifier, customer_id: uuid.UUID, *, source: str
    ) -> uuid.UUID: ...
    async def of_customer(self, customer_id: uuid.UUID) -> list[Identifier]: ...
    async def owned_by(self, customer_id: uuid.UUID) -> list[OwnedIdentifier]: ...
    async def release(self, customer_id: uuid.UUID, identifiers: Iterable[Identifier]) -> None: ...
    async def release_all(self, customer_id: uuid.UUID) -> None: ...
    async def repoint(
        self, from_customer: uuid.UUID, to_customer: uuid.UUID
    ) -> list[TransferredIdentifier]: ...
    async def give_back(
        self,
        identifiers: Iterable[Identifier],
        *,
        from_customer: uuid.UUID,
        to_customer: uuid.UUID,
    ) -> list[Identifier]: ...


class LineageRepository(Protocol):
    async def get(self, merge_id: uuid.UUID, *, for_update: bool = False) -> MergeRecord | None: ...
    async def between(
        self, survivor_id: uuid.UUID, merged_customer_id: uuid.UUID, *, for_update: bool = False
    ) -> list[MergeRecord]: ...
    async def add(self, merge: MergeRecord) -> bool: ...
    async def record_moves(
        self, merge_id: uuid.UUID, moved: Iterable[TransferredIdentifier]
    ) -> None: ...
    async def mark_unmerged(self, merge: MergeRecord) -> None: ...
    async def moved(self, merge_id: uuid.UUID) -> list[TransferredIdentifier]: ...
    async def history_of(self, customer_id: uuid.UUID) -> list[MergeRecord]: ...
    async def held_through_merges(self, survivor_id: uuid.UUID) -> set[Identifier]: ...
    async def forget_moves_of(self, customer_id: uuid.UUID) -> None: ...


class AuditLog(Protocol):
    async def record(
        self,
        *,
        actor: str,
        action: str,
        customer_id: uuid.UUID | None,
        details: Mapping[str, Any],
        at: datetime | None = None,
    ) -> None: ...


CustomerPair = tuple[uuid.UUID, uuid.UUID]  # lower id first (`ordered_pair`)


class MatchKeyRepository(Protocol):
    """The blocking index: which customers hold each blocking key."""

    async def replace(self, customer_id: uuid.UUID, keys: Collection[str]) -> None: ...
    async def members(self, keys: Collection[str], *, limit: int) -> dict[str, list[uuid.UUID]]: ...


class SuggestionRepository(Protocol):
    async def add_all(self, suggestions: Sequence[DuplicateSuggestion]) -> set[uuid.UUID]: ...
    async def get(
        self, suggestion_id: uuid.UUID, *, for_update: bool = False
    ) -> DuplicateSuggestion | None: ...
    async def save(self, suggestion: DuplicateSuggestion) -> None: ...
    async def open_among(self, pairs: Collection[CustomerPair]) -> set[CustomerPair]: ...
    async def pending_involving(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> list[DuplicateSuggestion]: ...
    async def open_for(self, pair: CustomerPair) -> DuplicateSuggestion | None: ...
    async def merging_away(
        self, customer_ids: Collection[uuid.UUID], *, decided_after: datetime
    ) -> set[uuid.UUID]: ...
    async def page(
        self,
        filters: SuggestionFilters,
        sort: SuggestionSort,
        *,
        after: SuggestionCursor | None,
        limit: int,
    ) -> list[DuplicateSuggestion]: ...


class RejectedPairRepository(Protocol):
    async def add(
        self,
        pair: CustomerPair,
        *,
        decided_by: str,
        at: datetime,
        suggestion_id: uuid.UUID | None = None,
    ) -> None: ...
    async def among(self, pairs: Collection[CustomerPair]) -> set[CustomerPair]: ...


class MatchPolicyRepository(Protocol):
    async def get(self) -> MatchPolicy: ...
    async def save(self, policy: MatchPolicy) -> None: ...


class MatchModelRepository(Protocol):
    async def get(self) -> MatchModel | None: ...
    async def save(self, model: MatchModel, *, fitted_at: datetime, records: int) -> None: ...


class CustomerUnitOfWork(ErasingUnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def identifiers(self) -> IdentifierRepository: ...
    @property
    def lineage(self) -> LineageRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def match_keys(self) -> MatchKeyRepository: ...
    @property
    def suggestions(self) -> SuggestionRepository: ...
    @property
    def rejected_pairs(self) -> RejectedPairRepository: ...
    @property
    def match_policies(self) -> MatchPolicyRepository: ...
    @property
    def match_models(self) -> MatchModelRepository: ...


class ConnectorRepository(Protocol):
    async def add(self, connector: Connector) -> bool: ...
    async def get(
        self, connector_id: uuid.UUID, *, for_update: bool = False
    ) -> Connector | None: ...
    async def save(self, connector: Connector) -> None: ...
    async def page(
        self,
        *,
        source: ConnectorSource | None,
        active_only: bool,
        after: ConnectorCursor | None,
        limit: int,
    ) -> Sequence[Connector]: ...


class ConnectorDirectory(Protocol):
    """Connectors by id across tenants: a webhook URL names only its connector."""

    async def find(self, connector_id: uuid.UUID) -> Connector | None: ...


class SourceDeliveryRepository(Protocol):
    async def claim(self, channel: str, key: str, fingerprint: str) -> DeliveryRecord | None: ...
    async def record_outcome(
        self, channel: str, key: str, outcome: list[dict[str, Any]]
    ) -> None: ...
    async def forget_customer(self, customer_id: uuid.UUID) -> int: ...


class ConnectorUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def connectors(self) -> ConnectorRepository: ...
    @property
    def audit(self) -> AuditLog: ...


class SourceProfileUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def source_deliveries(self) -> SourceDeliveryRepository: ...


class DedupeRunRepository(Protocol):
    async def add(self, run: DedupeRun) -> bool: ...
    async def get(self, run_id: uuid.UUID) -> DedupeRun | None: ...
    async def active(self) -> DedupeRun | None: ...
    async def page(self, *, after: RunCursor | None, limit: int) -> list[DedupeRun]: ...
    async def save(self, run: DedupeRun) -> None: ...
    async def interrupt_orphans(self, reason: str) -> int: ...
    async def count_customers(self) -> int: ...
    def customers(self, *, batch_size: int) -> AsyncIterator[list[IdentityCustomer]]: ...


class DedupeRunUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def dedupe_runs(self) -> DedupeRunRepository: ...


class RunLease(Protocol):
    async def release(self) -> None: ...


class RunLeases(Protocol):
    """Who executes a run: a run whose lease nobody holds was interrupted."""

    async def acquire(self, run_id: uuid.UUID) -> RunLease: ...
