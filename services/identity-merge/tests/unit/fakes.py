"""In-memory stand-ins for the identity repository and unit of work."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from patron_identity.domain.connectors import ERASED_EXTERNAL_ID, DeliveryRecord
from patron_identity.domain.customer import IdentityCustomer
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
from patron_shared.testing import InMemoryUnitOfWork


@dataclass
class FakeCustomerRepository:
    rows: dict[uuid.UUID, IdentityCustomer] = field(default_factory=dict)
    writes: int = 0

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> IdentityCustomer | None:
        return copy.deepcopy(self.rows.get(customer_id))

    async def many(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, IdentityCustomer]:
        return {i: copy.deepcopy(self.rows[i]) for i in customer_ids if i in self.rows}

    async def save(self, customer: IdentityCustomer) -> None:
        self.rows[customer.customer_id] = copy.deepcopy(customer)
        self.writes += 1


@dataclass
class FakeIdentifierRepository:
    owned: dict[Identifier, uuid.UUID] = field(default_factory=dict)
    sources: dict[Identifier, str] = field(default_factory=dict)
    # (first seen, last seen), from a clock that ticks a second per claim
    seen: dict[Identifier, tuple[datetime, datetime]] = field(default_factory=dict)
    clock: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    async def owners(self, wanted: Iterable[Identifier]) -> dict[Identifier, uuid.UUID]:
        return {i: self.owned[i] for i in wanted if i in self.owned}

    async def claim(
        self, identifier: Identifier, customer_id: uuid.UUID, *, source: str
    ) -> uuid.UUID:
        self.clock += timedelta(seconds=1)
        self.sources.setdefault(identifier, source)
        first_seen = self.seen.get(identifier, (self.clock, self.clock))[0]
        self.seen[identifier] = (first_seen, self.clock)
        return self.owned.setdefault(identifier, customer_id)

    async def of_customer(self, customer_id: uuid.UUID) -> list[Identifier]:
        return sorted(i for i, owner in self.owned.items() if owner == customer_id)

    async def owned_by(self, customer_id: uuid.UUID) -> list[OwnedIdentifier]:
        return [
            OwnedIdentifier(i, self.sources.get(i, "api"), *self.seen.get(i, (self.clock,) * 2))
            for i in await self.of_customer(customer_id)
        ]

    async def release(self, customer_id: uuid.UUID, identifiers: Iterable[Identifier]) -> None:
        for identifier in identifiers:
            if self.owned.get(identifier) == customer_id:
                self._forget(identifier)

    async def release_all(self, customer_id: uuid.UUID) -> None:
        await self.release(customer_id, await self.of_customer(customer_id))

    async def repoint(
        self, from_customer: uuid.UUID, to_customer: uuid.UUID
    ) -> list[TransferredIdentifier]:
        moved = await self.of_customer(from_customer)
        for identifier in moved:
            self.owned[identifier] = to_customer
        return [TransferredIdentifier(i, self.sources.get(i, "api")) for i in moved]

    async def give_back(
        self,
        identifiers: Iterable[Identifier],
        *,
        from_customer: uuid.UUID,
        to_customer: uuid.UUID,
    ) -> list[Identifier]:
        given = sorted(i for i in set(identifiers) if self.owned.get(i) == from_customer)
        for identifier in given:
            self.owned[identifier] = to_customer
        return given

    def _forget(self, identifier: Identifier) -> None:
        del self.owned[identifier]
        self.sources.pop(identifier, None)
        self.seen.pop(identifier, None)


@dataclass
class FakeLineageRepository:
    merges: dict[uuid.UUID, MergeRecord] = field(default_factory=dict)
    moves: dict[uuid.UUID, list[TransferredIdentifier]] = field(default_factory=dict)

    async def get(self, merge_id: uuid.UUID, *, for_update: bool = False) -> MergeRecord | None:
        return copy.deepcopy(self.merges.get(merge_id))

    async def between(
        self, survivor_id: uuid.UUID, merged_customer_id: uuid.UUID, *, for_update: bool = False
    ) -> list[MergeRecord]:
        pair = (survivor_id, merged_customer_id)
        found = [m for m in self.merges.values() if (m.survivor_id, m.merged_customer_id) == pair]
        return copy.deepcopy(sorted(found, key=lambda m: m.merged_at, reverse=True))

    async def add(self, merge: MergeRecord) -> bool:
        if merge.merge_id in self.merges:
            return False
        self.merges[merge.merge_id] = copy.deepcopy(merge)
        return True

    async def record_moves(
        self, merge_id: uuid.UUID, moved: Iterable[TransferredIdentifier]
    ) -> None:
        self.moves.setdefault(merge_id, []).extend(moved)

    async def mark_unmerged(self, merge: MergeRecord) -> None:
        self.merges[merge.merge_id] = copy.deepcopy(merge)

    async def moved(self, merge_id: uuid.UUID) -> list[TransferredIdentifier]:
        return sorted(self.moves.get(merge_id, []), key=lambda t: t.identifier)

    async def history_of(self, customer_id: uuid.UUID) -> list[MergeRecord]:
        found = [
            m for m in self.merges.values() if customer_id in (m.survivor_id, m.merged_customer_id)
        ]
        return copy.deepcopy(sorted(found, key=lambda m: m.merged_at))

    async def held_through_merges(self, survivor_id: uuid.UUID) -> set[Identifier]:
        return {
            t.identifier
            for merge_id, moved in self.moves.items()
            if self.merges[merge_id].survivor_id == survivor_id and self.merges[merge_id].is_active
            for t in moved
        }

    async def forget_moves_of(self, customer_id: uuid.UUID) -> None:
        for merge in await self.history_of(customer_id):
            self.moves.pop(merge.merge_id, None)


@dataclass
class FakeAuditLog:
    entries: list[dict[str, Any]] = field(default_factory=list)

    async def record(
        self,
        *,
        actor: str,
        action: str,
        customer_id: uuid.UUID | None,
        details: Mapping[str, Any],
        at: datetime | None = None,
    ) -> None:
        self.entries.append(
            {"actor": actor, "action": action, "customer_id": customer_id, **details}
        )


Pair = tuple[uuid.UUID, uuid.UUID]


@dataclass
class FakeMatchKeyRepository:
    keys: dict[uuid.UUID, frozenset[str]] = field(default_factory=dict)

    async def replace(self, customer_id: uuid.UUID, keys: Collection[str]) -> None:
        if keys:
            self.keys[customer_id] = frozenset(keys)
        else:
            self.keys.pop(customer_id, None)

    async def members(self, keys: Collection[str], *, limit: int) -> dict[str, list[uuid.UUID]]:
        found: dict[str, list[uuid.UUID]] = {}
        for customer_id, held in sorted(self.keys.items()):
            for key in held & set(keys):
                block = found.setdefault(key, [])
                if len(block) < limit:
                    block.append(customer_id)
        return found


@dataclass
class FakeSuggestionRepository:
    rows: dict[uuid.UUID, DuplicateSuggestion] = field(default_factory=dict)

    async def add_all(self, suggestions: Sequence[DuplicateSuggestion]) -> set[uuid.UUID]:
        stored: set[uuid.UUID] = set()
        for suggestion in suggestions:
            if suggestion.pair not in await self.open_among([suggestion.pair]):
                self.rows[suggestion.id] = copy.deepcopy(suggestion)
                stored.add(suggestion.id)
        return stored

    async def get(
        self, suggestion_id: uuid.UUID, *, for_update: bool = False
    ) -> DuplicateSuggestion | None:
        return copy.deepcopy(self.rows.get(suggestion_id))

    async def save(self, suggestion: DuplicateSuggestion) -> None:
        self.rows[suggestion.id] = copy.deepcopy(suggestion)

    async def open_among(self, pairs: Collection[Pair]) -> set[Pair]:
        wanted = set(pairs)
        return {
            s.pair
            for s in self.rows.values()
            if s.pair in wanted and s.status in ("pending", "accepted")
        }

    async def pending_involving(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> list[DuplicateSuggestion]:
        found = [s for s in self.rows.values() if s.status == "pending" and customer_id in s.pair]
        return copy.deepcopy(sorted(found, key=lambda s: s.id))

    async def open_for(self, pair: Pair) -> DuplicateSuggestion | None:
        found = [
            s for s in self.rows.values() if s.status in ("pending", "accepted") and s.pair == pair
        ]
        return copy.deepcopy(found[0]) if found else None

    async def merging_away(
        self, customer_ids: Collection[uuid.UUID], *, decided_after: datetime
    ) -> set[uuid.UUID]:
        return {
            s.secondary_id
            for s in self.rows.values()
            if s.status == "accepted"
            and s.secondary_id is not None
            and s.decided_at is not None
            and s.decided_at > decided_after
        } & set(customer_ids)

    async def page(
        self,
        filters: SuggestionFilters,
        sort: SuggestionSort,
        *,
        after: SuggestionCursor | None,
        limit: int,
    ) -> list[DuplicateSuggestion]:
        def position(s: DuplicateSuggestion) -> tuple[Any, uuid.UUID]:
            return (s.score if sort.field == "score" else s.created_at), s.id

        found = [
            s
            for s in self.rows.values()
            if s.status == filters.status
            and (filters.customer_id is None or filters.customer_id in s.pair)
            and (filters.min_score is None or s.score >= filters.min_score)
            and (filters.rule is None or s.rule == filters.rule)
        ]
        found.sort(key=position, reverse=sort.descending)
        if after is not None:
            boundary = (after.score if sort.field == "score" else after.created_at), after.id
            found = [
                s
                for s in found
                if (position(s) < boundary if sort.descending else position(s) > boundary)
            ]
        return copy.deepcopy(found[:limit])


@dataclass
class FakeRejectedPairRepository:
    decided_by: dict[Pair, str] = field(default_factory=dict)

    async def add(
        self,
        pair: Pair,
        *,
        decided_by: str,
        at: datetime,
        suggestion_id: uuid.UUID | None = None,
    ) -> None:
        self.decided_by.setdefault(pair, decided_by)

    async def among(self, pairs: Collection[Pair]) -> set[Pair]:
        return set(pairs) & set(self.decided_by)


@dataclass
class FakeMatchPolicyRepository:
    policy: MatchPolicy = field(default_factory=MatchPolicy)

    async def get(self) -> MatchPolicy:
        return self.policy

    async def save(self, policy: MatchPolicy) -> None:
        self.policy = policy


@dataclass
class FakeMatchModelRepository:
    model: MatchModel | None = None
    records: int = 0

    async def get(self) -> MatchModel | None:
        return self.model

    async def save(self, model: MatchModel, *, fitted_at: datetime, records: int) -> None:
        self.model, self.records = model, records


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

    async def forget_customer(self, customer_id: uuid.UUID) -> int:
        named = 0
        for key, record in self.records.items():
            if not any(r.get("customer_id") == str(customer_id) for r in record.outcome):
                continue
            named += 1
            outcome = [
                r | {"external_id": ERASED_EXTERNAL_ID}
                if r.get("customer_id") == str(customer_id)
                else r
                for r in record.outcome
            ]
            self.records[key] = DeliveryRecord(record.fingerprint, outcome)
        return named


class FakeIdentityUnitOfWork(InMemoryUnitOfWork):
    repositories = (
        "customers",
        "identifiers",
        "lineage",
        "audit",
        "match_keys",
        "suggestions",
        "rejected_pairs",
        "match_policies",
        "match_models",
        "source_deliveries",
    )

    def __init__(self) -> None:
        super().__init__(source="identity")
        self.customers = FakeCustomerRepository()
        self.identifiers = FakeIdentifierRepository()
        self.lineage = FakeLineageRepository()
        self.audit = FakeAuditLog()
        self.match_keys = FakeMatchKeyRepository()
        self.suggestions = FakeSuggestionRepository()
        self.rejected_pairs = FakeRejectedPairRepository()
        self.match_policies = FakeMatchPolicyRepository()
        self.match_models = FakeMatchModelRepository()
        self.source_deliveries = FakeSourceDeliveryRepository()
