"""Matching records into clusters of the same person, streaming or in one batch.

A pair scoring at least `auto_merge` is a merge edge; clusters are the connected components
of merge edges. An edge depends only on its two records and the model, and both modes compare
exactly the pairs sharing a non-stop blocking key, so cluster membership does not depend on
the order records arrive in. A cluster's survivor is its earliest-arrived member.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from patron_identity.domain.matching.blocking import (
    DEFAULT_MAX_BLOCK_SIZE,
    BlockingIndex,
    blocking_keys,
    candidate_pairs,
)
from patron_identity.domain.matching.model import MatchModel, MatchScore, probability_from_weight
from patron_identity.domain.matching.records import PreparedRecord

Decision = Literal["merge", "review"]
PROGRESS_EVERY = 10_000


@dataclass(frozen=True)
class Thresholds:
    """Posterior probabilities: merge automatically at or above `auto_merge`; queue for review
    at or above `review`; below that the pair is left alone."""

    # ~ weight 10: a shared email or phone plus agreeing names clears it easily; names alone,
    # or a shared inbox under different first names, do not
    auto_merge: float = 0.999
    # weight 0: as likely the same person as not
    review: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.auto_merge <= 1.0:
            raise ValueError("thresholds must satisfy 0 < review <= auto_merge <= 1")

    def decide(self, score: MatchScore) -> Decision | None:
        if score.probability >= self.auto_merge:
            # a conflicting field (a different first name or birth date) is for a person to judge
            return "review" if score.conflicts else "merge"
        if score.probability >= self.review:
            return "review"
        return None


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class PairDecision:
    left: str  # record ids, left < right
    right: str
    score: MatchScore
    decision: Decision


def _pair_decision(
    a: PreparedRecord, b: PreparedRecord, model: MatchModel, thresholds: Thresholds
) -> PairDecision | None:
    vector, swapped = model.compare(a, b)
    if probability_from_weight(model.weight_of(vector)) < thresholds.review:
        # most candidate pairs end here: no explanation is built for a pair left alone
        return None
    score = model.score_vector(vector, swapped=swapped)
    decision = thresholds.decide(score)
    if decision is None:
        return None
    left, right = sorted((a.record_id, b.record_id))
    return PairDecision(left=left, right=right, score=score, decision=decision)


class _Clusters:
    """Union-find over arrival sequence numbers; a root is always its set's earliest member."""

    def __init__(self) -> None:
        self._parent: list[int] = []

    def add(self) -> None:
        self._parent.append(len(self._parent))

    def find(self, item: int) -> int:
        root = item
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item] != root:
            self._parent[item], item = root, self._parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            # the earlier root survives, so existing survivors are never renamed by a join
            low, high = sorted((root_a, root_b))
            self._parent[high] = low

    @classmethod
    def of(cls, size: int, edges: Iterable[tuple[int, int]]) -> _Clusters:
        clusters = cls()
        for _ in range(size):
            clusters.add()
        for a, b in edges:
            clusters.union(a, b)
        return clusters


class Matcher:
    """Streaming matcher: each arrival is compared with its blocked candidates seen so far."""

    def __init__(
        self,
        model: MatchModel,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        *,
        max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    ) -> None:
        self._model = model
        self._thresholds = thresholds
        self._index = BlockingIndex(max_block_size)
        self._records: list[PreparedRecord] = []
        self._keys: list[frozenset[str]] = []
        self._sequence_by_id: dict[str, int] = {}
        # (earlier, later) arrival sequence numbers -> decision
        self._decisions: dict[tuple[int, int], PairDecision] = {}
        self._clusters = _Clusters()

    def add(self, record: PreparedRecord) -> list[PairDecision]:
        """Compare an arrival with its candidates; return its merge and review decisions."""
        if record.record_id in self._sequence_by_id:
            raise ValueError(f"record {record.record_id!r} was already added")
        sequence = len(self._records)
        keys = blocking_keys(record)
        candidates, newly_stopped = self._index.add(sequence, keys)
        self._records.append(record)
        self._keys.append(keys)
        self._sequence_by_id[record.record_id] = sequence
        self._clusters.add()
        if newly_stopped:
            self._withdraw_unsupported_decisions()
        found: list[PairDecision] = []
        for candidate in candidates:
            decision = _pair_decision(
                self._records[candidate], record, self._model, self._thresholds
            )
            if decision is None:
                continue
            found.append(decision)
            self._decisions[(candidate, sequence)] = decision
            if decision.decision == "merge":
                self._clusters.union(candidate, sequence)
        return found

    def _withdraw_unsupported_decisions(self) -> None:
        # a pair found only through keys that have since become stop keys would not be
        # compared had the records arrived in another order, so it no longer counts
        stopped = self._index.stopped
        self._decisions = {
            pair: decision
            for pair, decision in self._decisions.items()
            if (self._keys[pair[0]] & self._keys[pair[1]]) - stopped
        }
        self._clusters = _Clusters.of(
            len(self._records),
            (pair for pair, decision in self._decisions.items() if decision.decision == "merge"),
        )

    def decisions(self) -> list[PairDecision]:
        """Current merge and review decisions, ordered by record ids."""
        return sorted(self._decisions.values(), key=lambda d: (d.left, d.right))

    def clusters(self) -> dict[str, str]:
        """record_id -> record_id of its cluster's survivor (itself when unmatched)."""
        return {
            record.record_id: self._records[self._clusters.find(sequence)].record_id
            for sequence, record in enumerate(self._records)
        }


def match_batch(
    records: Sequence[PreparedRecord],
    model: MatchModel,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    *,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[PairDecision], dict[str, str]]:
    """Match a whole set at once; `records` order is the arrival order for survivors.

    Gives the same decisions and cluster membership as `Matcher.add` in any order.
    `progress`, when given, is told how many candidate pairs have been compared, every
    `PROGRESS_EVERY` pairs and once at the end.
    """
    if len({record.record_id for record in records}) != len(records):
        raise ValueError("record ids must be unique")
    decisions: list[PairDecision] = []
    merges: list[tuple[int, int]] = []
    pairs = sorted(candidate_pairs(records, max_block_size=max_block_size))
    for compared, (i, j) in enumerate(pairs):
        if progress is not None and compared % PROGRESS_EVERY == 0:
            progress(compared)
        decision = _pair_decision(records[i], records[j], model, thresholds)
        if decision is None:
            continue
        decisions.append(decision)
        if decision.decision == "merge":
            merges.append((i, j))
    if progress is not None:
        progress(len(pairs))
    clusters = _Clusters.of(len(records), merges)
    decisions.sort(key=lambda d: (d.left, d.right))
    return decisions, {
        record.record_id: records[clusters.find(index)].record_id
        for index, record in enumerate(records)
    }
