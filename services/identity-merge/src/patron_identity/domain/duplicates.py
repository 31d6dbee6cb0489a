"""Duplicate screening rules: a tenant's match policy, and the review queue's suggestions.

A pair of customers is screened once it shares a blocking key. A shared email or phone is an
exact match and the tenant's `exact_match` policy decides it, unless the pair's names or birth
dates conflict (a household sharing an inbox or landline), which always goes to review; any
other pair is decided by the tenant's thresholds on the match probability. A merge keeps
the older customer (by its profile's creation time, ties by id), so a survivor is never
itself merged into a newcomer.
A pair is stored ordered (lower id first) so that it has one row whichever of the two
customers was screened.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from patron_identity.domain.matching import (
    FieldEvidence,
    MatchScore,
    NormalizationRules,
    Thresholds,
)
from patron_identity.domain.matching.blocking import DEFAULT_MAX_BLOCK_SIZE
from patron_identity.domain.matching.matcher import DEFAULT_THRESHOLDS
from patron_identity.domain.matching.normalize import DEFAULT_RULES
from patron_shared.errors import Conflict, InvalidInput

ExactMatchPolicy = Literal["merge", "review"]
SuggestionStatus = Literal["pending", "accepted", "rejected", "superseded"]
SUGGESTION_STATUSES: tuple[SuggestionStatus, ...] = get_args(SuggestionStatus)
Decision = Literal["merge", "review"]

# Identifier kinds that make a pair an exact match, in the order a rule is named after.
EXACT_KINDS = ("email", "phone")
PROBABILISTIC_RULE = "probabilistic"
AUTO = "auto"  # `decided_by` / `requested_by` of the screening rules themselves
# How long an accepted merge counts as on its way to the profile. The profile applies one in
# moments; one still not applied after this was refused there (its primary deleted, say),
# and its merged customer is screened again rather than left out for good.
MERGE_LANDING_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class ScreeningDecision:
    decision: Decision
    rule: str  # "exact:email", "exact:phone" or "probabilistic"


@dataclass(frozen=True)
class MatchPolicy:
    """How one tenant's duplicates are decided.

    `exact_match` and the thresholds are the tenant's to change; `rules` and
    `max_block_size` come from the service's settings. `updated_at`/`updated_by` are None
    while the tenant runs on the defaults.
    """

    exact_match: ExactMatchPolicy = "merge"
    auto_merge_threshold: float = DEFAULT_THRESHOLDS.auto_merge
    review_threshold: float = DEFAULT_THRESHOLDS.review
    rules: NormalizationRules = DEFAULT_RULES
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE
    updated_at: datetime | None = None
    updated_by: str | None = None

    def __post_init__(self) -> None:
        if self.exact_match not in get_args(ExactMatchPolicy):
            raise InvalidInput("exact_match", "must be merge or review")
        if not 0.0 < self.review_threshold <= 1.0:
            raise InvalidInput("review_threshold", "must be greater than 0 and at most 1")
        if not 0.0 < self.auto_merge_threshold <= 1.0:
            raise InvalidInput("auto_merge_threshold", "must be greater than 0 and at most 1")
        if self.review_threshold > self.auto_merge_threshold:
            raise InvalidInput("review_threshold", "must not be greater than auto_merge_threshold")
        if self.max_block_size < 1:
            raise InvalidInput("max_block_size", "must be at least 1")

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(auto_merge=self.auto_merge_threshold, review=self.review_threshold)

    def changed(
        self,
        *,
        exact_match: ExactMatchPolicy,
        auto_merge_threshold: float,
        review_threshold: float,
        by: str,
        at: datetime,
    ) -> MatchPolicy:
        """The tenant's new choice, validated; the settings-level fields stay."""
        return replace(
            self,
            exact_match=exact_match,
            auto_merge_threshold=auto_merge_threshold,
            review_threshold=review_threshold,
            updated_at=at,
            updated_by=by,
        )

    def decide(
        self, score: MatchScore, shared_identifiers: Collection[str]
    ) -> ScreeningDecision | None:
        """Merge, review or nothing for a scored pair sharing these identifier kinds."""
        for kind in EXACT_KINDS:
            if kind in shared_identifiers:
                # a shared inbox or landline with another first name or birth date is a
                # household, not one person: a reviewer decides
                policy = "review" if score.conflicts else self.exact_match
                return ScreeningDecision(policy, f"exact:{kind}")
        decision = self.thresholds.decide(score)
        return None if decision is None else ScreeningDecision(decision, PROBABILISTIC_RULE)


def ordered_pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    if a == b:
        raise ValueError("a customer is not its own duplicate")
    return (a, b) if a < b else (b, a)


def survivor_key(customer_id: uuid.UUID, created_at: datetime | None) -> tuple[bool, datetime, str]:
    """Sort key putting the customer that survives a merge first: the older one, ties by id.

    A customer whose creation time is unknown sorts after every known one.
    """
    return (created_at is None, created_at or datetime.max.replace(tzinfo=UTC), str(customer_id))


@dataclass
class DuplicateSuggestion:
    """A pair of customers that may be one person, and what became of it."""

    id: uuid.UUID
    first_id: uuid.UUID  # the pair, lower id first
    second_id: uuid.UUID
    score: float  # match probability
    match_weight: float | None
    rule: str
    explanation: tuple[FieldEvidence, ...]
    status: SuggestionStatus
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    primary_id: uuid.UUID | None = None  # the survivor, once accepted

    @classmethod
    def pending(
        cls, a: uuid.UUID, b: uuid.UUID, score: MatchScore, *, rule: str, at: datetime
    ) -> DuplicateSuggestion:
        first, second = ordered_pair(a, b)
        return cls(
            id=uuid.uuid4(),
            first_id=first,
            second_id=second,
            score=score.probability,
            match_weight=score.weight,
            rule=rule,
            explanation=score.evidence,
            status="pending",
            created_at=at,
        )

    @classmethod
    def merged_automatically(
        cls,
        survivor: uuid.UUID,
        merged: uuid.UUID,
        score: MatchScore,
        *,
        rule: str,
        at: datetime,
    ) -> DuplicateSuggestion:
        suggestion = cls.pending(survivor, merged, score, rule=rule, at=at)
        suggestion.accept(survivor, by=AUTO, at=at)
        return suggestion

    @property
    def pair(self) -> tuple[uuid.UUID, uuid.UUID]:
        return self.first_id, self.second_id

    @property
    def secondary_id(self) -> uuid.UUID | None:
        """The customer folded into `primary_id`, once accepted."""
        if self.primary_id is None:
            return None
        return self.second_id if self.primary_id == self.first_id else self.first_id

    def accept(self, primary_id: uuid.UUID, *, by: str, at: datetime) -> uuid.UUID:
        """Decide the pair is one person kept as `primary_id`; returns the merged one."""
        self._require_pending()
        if primary_id not in self.pair:
            raise InvalidInput("primary_id", "must be one of the two customers of the suggestion")
        self.status = "accepted"
        self.primary_id = primary_id
        self.decided_at, self.decided_by = at, by
        return self.second_id if primary_id == self.first_id else self.first_id

    def reject(self, *, by: str, at: datetime) -> None:
        """Decide the pair is two people."""
        self._require_pending()
        self.status = "rejected"
        self.decided_at, self.decided_by = at, by

    def undo_merge(self, *, by: str, at: datetime) -> None:
        """The merge this suggestion led to was reversed: the pair is two people after all
        (`primary_id` stays, as the record of what had been decided)."""
        if self.status != "accepted":
            raise Conflict(
                f"suggestion {self.id} is {self.status}, not merged", suggestion_status=self.status
            )
        self.status = "rejected"
        self.decided_at, self.decided_by = at, by

    def supersede(self, *, at: datetime) -> None:
        """Close an undecided suggestion one of whose customers is gone or merged away."""
        self._require_pending()
        self.status = "superseded"
        self.decided_at, self.decided_by = at, AUTO

    def _require_pending(self) -> None:
        if self.status != "pending":
            raise Conflict(
                f"suggestion {self.id} is already {self.status}", suggestion_status=self.status
            )


# --- the review queue's listing -------------------------------------------------------------

SORT_FIELDS = ("score", "created_at")


@dataclass(frozen=True)
class SuggestionFilters:
    status: SuggestionStatus = "pending"
    customer_id: uuid.UUID | None = None  # either customer of the pair
    min_score: float | None = None
    rule: str | None = None


@dataclass(frozen=True)
class SuggestionSort:
    field: Literal["score", "created_at"] = "score"
    descending: bool = True

    @classmethod
    def parse(cls, value: str) -> SuggestionSort:
        """`score` ascending, `-score` descending; the same for `created_at`."""
        name = value.removeprefix("-")
        if name == "score":
            return cls(field="score", descending=value.startswith("-"))
        if name == "created_at":
            return cls(field="created_at", descending=value.startswith("-"))
        raise InvalidInput(
            "sort",
            f"unknown sort field {name!r}; one of {', '.join(SORT_FIELDS)}",
            location="query",
        )


@dataclass(frozen=True)
class SuggestionCursor:
    """Where a page stopped: the last row's sort value and id, for one sort (opaque)."""

    sort: SuggestionSort
    score: float | None
    created_at: datetime | None
    id: uuid.UUID

    @classmethod
    def after(cls, suggestion: DuplicateSuggestion, sort: SuggestionSort) -> SuggestionCursor:
        return cls(
            sort=sort,
            score=suggestion.score if sort.field == "score" else None,
            created_at=suggestion.created_at if sort.field == "created_at" else None,
            id=suggestion.id,
        )

    def encode(self) -> str:
        value = self.score if self.created_at is None else self.created_at.isoformat()
        order = "-" if self.sort.descending else ""
        raw = json.dumps([f"{order}{self.sort.field}", value, str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: SuggestionSort) -> SuggestionCursor:
        """A cursor this API returned for the same sort; anything else is a 422."""
        try:
            padded = token + "=" * (-len(token) % 4)
            sorted_by, value, row_id = json.loads(base64.urlsafe_b64decode(padded))
            if SuggestionSort.parse(sorted_by) != sort:
                raise ValueError("a cursor of another sort")
            if sort.field == "score":
                return cls(sort, float(value), None, uuid.UUID(row_id))
            return cls(sort, None, datetime.fromisoformat(value), uuid.UUID(row_id))
        except (ValueError, TypeError, binascii.Error, InvalidInput):
            raise InvalidInput(
                "cursor", "not a cursor this API returned for this sort", location="query"
            ) from None
