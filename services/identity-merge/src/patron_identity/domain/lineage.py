"""Merge lineage: which customer was merged into which, by whom and why, what moved, and
whether it was undone.

An unmerge is refused (409) when it is already undone, and when the survivor has since been
merged away itself: the identifiers it took now live with a later survivor, so the later
merge has to be undone first (merges unwind newest first). A merged customer cannot absorb
others while it is merged away, so nothing else depends on a merge.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from patron_identity.domain.identifiers import OwnedIdentifier
from patron_identity.domain.resolution import Identifier
from patron_shared.errors import Conflict
from patron_shared.events import CustomersMerged

# Names merges that arrive without an id, so a redelivery with another message id still
# finds the same merge.
_MERGE_NAMESPACE = uuid.UUID("6c1f9d52-4a0e-4f55-9a37-2f4e8f0c2b61")


@dataclass(frozen=True)
class TransferredIdentifier:
    """An identifier a merge moved from the merged customer to the survivor."""

    identifier: Identifier
    source: str


@dataclass
class MergeRecord:
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_customer_id: uuid.UUID
    merged_at: datetime
    merged_by: str | None = None
    rule: str | None = None
    score: float | None = None
    suggestion_id: uuid.UUID | None = None
    unmerged_at: datetime | None = None
    unmerged_by: str | None = None

    @classmethod
    def of(cls, event: CustomersMerged) -> MergeRecord:
        return cls(
            merge_id=event.merge_id or merge_id_of(event),
            survivor_id=event.customer_id,
            merged_customer_id=event.merged_customer_id,
            merged_at=event.merged_at,
            merged_by=event.merged_by,
            rule=event.rule,
            score=event.score,
            suggestion_id=event.suggestion_id,
        )

    @property
    def is_active(self) -> bool:
        return self.unmerged_at is None

    def unmerge(self, *, at: datetime, by: str, survivor_merged_into: uuid.UUID | None) -> None:
        """Mark the merge undone, if nothing stands in the way."""
        if not self.is_active:
            raise Conflict(
                f"merge {self.merge_id} was already undone",
                merge_id=str(self.merge_id),
                unmerged_at=self.unmerged_at.isoformat() if self.unmerged_at else None,
            )
        if survivor_merged_into is not None:
            raise Conflict(
                f"customer {self.survivor_id} has since been merged into "
                f"{survivor_merged_into}: undo that merge first",
                merge_id=str(self.merge_id),
                merged_into=str(survivor_merged_into),
            )
        self.unmerged_at = at
        self.unmerged_by = by


def merge_id_of(event: CustomersMerged) -> uuid.UUID:
    """A stable id for a merge announced without one: the same pair at the same time."""
    name = f"{event.customer_id}:{event.merged_customer_id}:{event.merged_at.isoformat()}"
    return uuid.uuid5(_MERGE_NAMESPACE, name)


@dataclass(frozen=True)
class MergeHistoryEntry:
    """A merge as a customer's graph shows it, with what it moved."""

    merge: MergeRecord
    moved: list[TransferredIdentifier] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerGraph:
    """A customer's place in the identity graph: what it owns and how merges shaped it."""

    customer_id: uuid.UUID
    merged_into: uuid.UUID | None
    identifiers: list[OwnedIdentifier]
    merges: list[MergeHistoryEntry]
