"""Duplicate screening of the identity graph's customers.

Every change to a customer's matching features comes through `refresh_matching`, in the
transaction that stored it, so the blocking index and the duplicate decisions never lag
the graph. Batch dedupe runs hand their pair decisions to `apply_pair_decisions`, which
applies the same rules; the review queue's decisions are `accept_suggestion` and
`reject_suggestion`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.duplicates import (
    AUTO,
    EXACT_KINDS,
    MERGE_LANDING_WINDOW,
    PROBABILISTIC_RULE,
    DuplicateSuggestion,
    MatchPolicy,
    ScreeningDecision,
    ordered_pair,
    survivor_key,
)
from patron_identity.domain.matching import (
    MatchModel,
    MatchScore,
    PairDecision,
    PersonRecord,
    blocking_keys,
    prepare,
)
from patron_identity.service.ports import CustomerPair, CustomerUnitOfWork
from patron_shared.events import (
    DuplicateSuspected,
    FieldComparison,
    MergeCustomers,
    MergeDecided,
    utcnow,
)

# Blocking keys of a customer's own identifiers, in the form `blocking_keys` writes them, so
# that a customer meets the owner of an email or phone it names even when the owner's
# profile record holds another one.
_IDENTIFIER_KEY_KINDS = frozenset(EXACT_KINDS)


@dataclass(frozen=True)
class _Match:
    """A screened pair that is to be merged or reviewed."""

    customer: IdentityCustomer
    other: IdentityCustomer
    score: MatchScore
    decision: ScreeningDecision


@dataclass(frozen=True)
class AppliedDecisions:
    """What `apply_pair_decisions` did with a batch's decisions."""

    merges: int = 0
    suggestions: int = 0
    skipped: int = 0


async def refresh_matching(uow: CustomerUnitOfWork, customer: IdentityCustomer) -> None:
    """Re-index the customer's blocking keys and screen it for duplicates.

    A deleted, merged-away or erased customer leaves the index, and its undecided
    suggestions are closed as superseded. Otherwise it is scored against every customer
    sharing a blocking key that is not a stop key (or owning one of its emails or phones),
    leaving out pairs already rejected, pending or merged, and customers an accepted
    suggestion is merging away (the merge is on its way to the profile).
    """
    policy = await uow.match_policies.get()
    record = prepare(customer.person_record(), policy.rules) if customer.is_active else None
    keys: frozenset[str] = frozenset()
    if record is not None:
        owned = await uow.identifiers.of_customer(customer.customer_id)
        keys = blocking_keys(record) | {
            f"{i.kind}:{i.value}" for i in owned if i.kind in _IDENTIFIER_KEY_KINDS
        }
    await uow.match_keys.replace(customer.customer_id, keys)
    if record is None or not keys:
        await _supersede_pending(uow, customer.customer_id)
        return
    shared = await _blocked_candidates(uow, keys, policy.max_block_size, itself=customer)
    if not shared:
        return
    model = await uow.match_models.get() or MatchModel.default()
    merging = await uow.suggestions.merging_away(
        {customer.customer_id, *shared}, decided_after=utcnow() - MERGE_LANDING_WINDOW
    )
    if customer.customer_id in merging:
        return  # its survivor is screened once the merge lands
    pairs = {other: ordered_pair(customer.customer_id, other) for other in shared}
    settled = await _settled_pairs(uow, pairs.values())
    matches: list[_Match] = []
    open_ids = {o for o in shared if pairs[o] not in settled and o not in merging}
    candidates = await uow.customers.many(open_ids)
    for other_id in sorted(open_ids):
        other = candidates.get(other_id)
        if other is None or not other.is_active:
            continue
        score = model.score(record, prepare(other.person_record(), policy.rules))
        decision = policy.decide(score, _identifier_kinds(shared[other_id]))
        if decision is not None:
            matches.append(_Match(customer, other, score, decision))
    await _apply_star(uow, customer, matches, at=utcnow())


async def mark_not_duplicates(
    uow: CustomerUnitOfWork, first: uuid.UUID, second: uuid.UUID, *, decided_by: str
) -> None:
    """Record that two customers are different people: the pair is never suggested again.

    A pending suggestion of the pair is rejected; an accepted one (its merge was undone) is
    marked rejected too, so that neither customer counts as being merged away.
    """
    pair = ordered_pair(first, second)
    now = utcnow()
    suggestion = await uow.suggestions.open_for(pair)
    if suggestion is not None:
        if suggestion.status == "pending":
            suggestion.reject(by=decided_by, at=now)
        else:
            suggestion.undo_merge(by=decided_by, at=now)
        await uow.suggestions.save(suggestion)
    await uow.rejected_pairs.add(
        pair, decided_by=decided_by, at=now, suggestion_id=suggestion.id if suggestion else None
    )


async def apply_pair_decisions(
    uow: CustomerUnitOfWork,
    decisions: Iterable[PairDecision],
    *,
    customers: Mapping[uuid.UUID, IdentityCustomer] | None = None,
) -> AppliedDecisions:
    """Apply a batch dedupe run's pair decisions as screening would.

    Contract:
    - Call it inside an open unit of work (`async with uow:`); it does not commit, so the
      caller decides how much one transaction holds. Give it whole clusters at once (all
      of `match_batch`'s decisions, or every decision touching one cluster): merges are
      applied per connected component of the "merge" decisions given together.
    - `decisions` carry customer ids as record ids (`str(customer_id)`), as
      `IdentityCustomer.person_record()` makes them; the caller should have matched with
      the tenant's model and `MatchPolicy.thresholds` (see `tenant_matching`).
    - `customers` may hold the already loaded customers by id; others are loaded.
    - A pair already rejected, pending or merged, or with a customer missing, deleted,
      merged away or being merged away (an accepted suggestion's merge not yet applied by
      the profile), is skipped. A pair sharing an email or phone is decided by the tenant's
      `exact_match` policy instead of the batch's decision.
    - Each component of merge decisions keeps its oldest customer (by creation, ties by id)
      and emits `MergeCustomers` + `MergeDecided` (decided_by "auto") for every other
      member, each recorded as an accepted suggestion; every review decision whose
      customers are not merged away here becomes a pending suggestion with
      `DuplicateSuspected`. Applying the same decisions twice adds nothing.
    """
    policy = await uow.match_policies.get()
    by_pair: dict[CustomerPair, PairDecision] = {}
    for decision in decisions:
        by_pair.setdefault(
            ordered_pair(uuid.UUID(decision.left), uuid.UUID(decision.right)), decision
        )
    settled = await _settled_pairs(uow, by_pair)
    merging = await uow.suggestions.merging_away(
        {c for pair in by_pair for c in pair}, decided_after=utcnow() - MERGE_LANDING_WINDOW
    )
    known = dict(customers or {})
    matches: list[_Match] = []
    for pair in sorted(by_pair):
        decision = by_pair[pair]
        if pair in settled or merging & set(pair):
            continue
        first, second = await _loaded(uow, known, pair[0]), await _loaded(uow, known, pair[1])
        if first is None or second is None or not (first.is_active and second.is_active):
            continue
        shared = _exactly_shared_kinds(decision.score)
        # the batch decided on the thresholds; a shared email or phone is the policy's call
        screened = (
            policy.decide(decision.score, shared)
            if shared
            else ScreeningDecision(decision.decision, PROBABILISTIC_RULE)
        )
        if screened is not None:
            matches.append(_Match(first, second, decision.score, screened))
    merges, suggestions = await _apply_components(uow, matches, at=utcnow())
    return AppliedDecisions(
        merges=merges, suggestions=suggestions, skipped=len(by_pair) - merges - suggestions
    )


async def tenant_matching(uow: CustomerUnitOfWork) -> tuple[MatchModel, MatchPolicy]:
    """The tenant's fitted model (the default model until one is stored) and policy."""
    policy = await uow.match_policies.get()
    return await uow.match_models.get() or MatchModel.default(), policy


async def best_match(
    uow: CustomerUnitOfWork, person: PersonRecord
) -> tuple[IdentityCustomer, MatchScore] | None:
    """The indexed customer most probably `person`, when it clears the tenant's automatic
    merge threshold; None otherwise. Reads only: `person` is not indexed."""
    model, policy = await tenant_matching(uow)
    record = prepare(person, policy.rules)
    keys = blocking_keys(record)
    if not keys:
        return None
    shared = await _blocked_candidates(uow, keys, policy.max_block_size, itself=None)
    best: tuple[IdentityCustomer, MatchScore] | None = None
    candidates = await uow.customers.many(shared.keys())
    for other_id in sorted(shared):
        other = candidates.get(other_id)
        if other is None or not other.is_active:
            continue
        score = model.score(record, prepare(other.person_record(), policy.rules))
        if score.probability >= policy.auto_merge_threshold and (
            best is None or score.probability > best[1].probability
        ):
            best = (other, score)
    return best


# --- screening steps --------------------------------------------------------------------------


async def _blocked_candidates(
    uow: CustomerUnitOfWork,
    keys: Collection[str],
    max_block_size: int,
    *,
    itself: IdentityCustomer | None,
) -> dict[uuid.UUID, frozenset[str]]:
    """Customers sharing a live key with a record, with the keys they share.

    A key is a stop key when its block, counting the record, holds more than
    `max_block_size` customers; members are read up to that count, so a large block costs
    no more than a small one.
    """
    members = await uow.match_keys.members(keys, limit=max_block_size + 1)
    counted_self = 0 if itself is None else 1  # an indexed record is in its own blocks
    shared: dict[uuid.UUID, set[str]] = {}
    for key, holders in members.items():
        if len(holders) - counted_self + 1 > max_block_size:
            continue
        for holder in holders:
            if itself is None or holder != itself.customer_id:
                shared.setdefault(holder, set()).add(key)
    return {holder: frozenset(found) for holder, found in shared.items()}


async def _settled_pairs(
    uow: CustomerUnitOfWork, pairs: Collection[CustomerPair]
) -> set[CustomerPair]:
    """Pairs that must not be suggested or merged again: rejected, pending or merged."""
    if not pairs:
        return set()
    return await uow.rejected_pairs.among(pairs) | await uow.suggestions.open_among(pairs)


async def _supersede_pending(uow: CustomerUnitOfWork, customer_id: uuid.UUID) -> None:
    now = utcnow()
    for suggestion in await uow.suggestions.pending_involving(customer_id, for_update=True):
        suggestion.supersede(at=now)
        await uow.suggestions.save(suggestion)


async def _apply_star(
    uow: CustomerUnitOfWork, customer: IdentityCustomer, matches: Sequence[_Match], *, at: datetime
) -> None:
    """Apply one customer's screening: merges fold the customer and every merge match into
    the oldest of them; reviews are suggested unless the customer is being merged away."""
    merges = [match for match in matches if match.decision.decision == "merge"]
    survivor = customer
    if merges:
        survivor = min(
            (customer, *(match.other for match in merges)),
            key=lambda c: survivor_key(c.customer_id, c.created_at),
        )
        planned = [
            (survivor, customer if match.other is survivor else match.other, match)
            for match in merges
        ]
        await _merge_all(uow, planned, at=at)
    if survivor is not customer:
        return  # its reviews would be superseded by the merge; the survivor is screened anew
    await _suggest_all(
        uow, [match for match in matches if match.decision.decision == "review"], at=at
    )


async def _apply_components(
    uow: CustomerUnitOfWork, matches: Sequence[_Match], *, at: datetime
) -> tuple[int, int]:
    """Merge each connected component of merge matches into its oldest member; suggest the
    reviews between customers that stay. Returns (merges, suggestions) applied."""
    parent: dict[uuid.UUID, uuid.UUID] = {}

    def root(node: uuid.UUID) -> uuid.UUID:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    merges = [match for match in matches if match.decision.decision == "merge"]
    for match in merges:
        parent[root(match.customer.customer_id)] = root(match.other.customer_id)
    components: dict[uuid.UUID, list[_Match]] = {}
    for match in merges:
        components.setdefault(root(match.customer.customer_id), []).append(match)
    planned: list[tuple[IdentityCustomer, IdentityCustomer, _Match]] = []
    merged_away: set[uuid.UUID] = set()
    for component in components.values():
        members = {c.customer_id: c for m in component for c in (m.customer, m.other)}
        survivor = min(members.values(), key=lambda c: survivor_key(c.customer_id, c.created_at))
        for member in sorted(members.values(), key=lambda c: c.customer_id):
            if member is survivor:
                continue
            # the member's strongest edge is the evidence recorded for its merge
            edge = max(
                (m for m in component if member in (m.customer, m.other)),
                key=lambda m: m.score.probability,
            )
            planned.append((survivor, member, edge))
            merged_away.add(member.customer_id)
    merged_count = await _merge_all(uow, planned, at=at)
    reviews = [
        match
        for match in matches
        if match.decision.decision == "review"
        and not ({match.customer.customer_id, match.other.customer_id} & merged_away)
    ]
    return merged_count, await _suggest_all(uow, reviews, at=at)


async def _merge_all(
    uow: CustomerUnitOfWork,
    planned: Sequence[tuple[IdentityCustomer, IdentityCustomer, _Match]],
    *,
    at: datetime,
) -> int:
    """Ask the profile to fold each (survivor, merged, match)'s merged customer into its
    survivor, each recorded as an accepted suggestion; returns how many were asked."""
    suggestions = [
        DuplicateSuggestion.merged_automatically(
            survivor.customer_id, merged.customer_id, match.score, rule=match.decision.rule, at=at
        )
        for survivor, merged, match in planned
    ]
    stored = await uow.suggestions.add_all(suggestions)
    asked = 0
    for suggestion, (survivor, _, _) in zip(suggestions, planned, strict=True):
        accepted: DuplicateSuggestion | None = suggestion
        if suggestion.id not in stored:
            accepted = await _accept_pending(uow, suggestion.pair, survivor, at=at)
        if accepted is not None:
            emit_merge(uow, accepted, requested_by=AUTO)
            asked += 1
    return asked


async def _accept_pending(
    uow: CustomerUnitOfWork, pair: CustomerPair, survivor: IdentityCustomer, *, at: datetime
) -> DuplicateSuggestion | None:
    """The pair met here indirectly and may be waiting for a reviewer: decide it now. None
    when it is not pending (merged meanwhile)."""
    pending = await uow.suggestions.open_for(pair)
    if pending is None or pending.status != "pending":
        return None
    pending.accept(survivor.customer_id, by=AUTO, at=at)
    await uow.suggestions.save(pending)
    return pending


async def _suggest_all(uow: CustomerUnitOfWork, matches: Sequence[_Match], *, at: datetime) -> int:
    """Queue each match for review; returns how many were new (not suggested meanwhile)."""
    suggestions = [
        DuplicateSuggestion.pending(
            match.customer.customer_id,
            match.other.customer_id,
            match.score,
            rule=match.decision.rule,
            at=at,
        )
        for match in matches
    ]
    stored = await uow.suggestions.add_all(suggestions)
    for suggestion in suggestions:
        if suggestion.id not in stored:
            continue
        uow.emit(
            DuplicateSuspected(
                customer_id=suggestion.first_id,
                candidate_customer_id=suggestion.second_id,
                suggestion_id=suggestion.id,
                score=suggestion.score,
                match_weight=suggestion.match_weight,
                explanation=[
                    FieldComparison(field=e.field, level=e.level, weight=e.weight)
                    for e in suggestion.explanation
                ],
            )
        )
    return len(stored)


def emit_merge(
    uow: CustomerUnitOfWork, suggestion: DuplicateSuggestion, *, requested_by: str
) -> None:
    """The command that merges an accepted suggestion's pair, and the decision event."""
    primary, secondary = suggestion.primary_id, suggestion.secondary_id
    if primary is None or secondary is None or suggestion.decided_at is None:
        raise ValueError("only an accepted suggestion is merged")
    uow.emit(
        MergeCustomers(
            customer_id=primary,
            secondary_id=secondary,
            requested_by=requested_by,
            rule=suggestion.rule,
            score=suggestion.score,
            suggestion_id=suggestion.id,
        ),
        MergeDecided(
            customer_id=primary,
            secondary_id=secondary,
            decision="merge",
            decided_by=requested_by,
            rule=suggestion.rule,
            score=suggestion.score,
            decided_at=suggestion.decided_at,
            suggestion_id=suggestion.id,
        ),
    )


async def _loaded(
    uow: CustomerUnitOfWork, known: dict[uuid.UUID, IdentityCustomer], customer_id: uuid.UUID
) -> IdentityCustomer | None:
    if customer_id not in known:
        found = await uow.customers.get(customer_id)
        if found is None:
            return None
        known[customer_id] = found
    return known[customer_id]


def _identifier_kinds(keys: Iterable[str]) -> frozenset[str]:
    """The identifier kinds among shared blocking keys (`email:...`, `phone:...`)."""
    return (
        frozenset(kind for kind, _, _ in (key.partition(":") for key in keys))
        & _IDENTIFIER_KEY_KINDS
    )


def _exactly_shared_kinds(score: MatchScore) -> frozenset[str]:
    """The identifier kinds (email, phone) a scored pair shares, normalized."""
    return frozenset(kind for kind in EXACT_KINDS if score.agrees_exactly(kind))
