"""Custom segments: a merchant's named rule over customer facts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from patron_segmentation.domain.rules import Rule
from patron_shared.errors import InvalidInput

NAME_MAX = 200
DESCRIPTION_MAX = 2_000


@dataclass(frozen=True)
class Segment:
    id: uuid.UUID
    name: str
    description: str | None
    rule: Rule
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def new(
        cls,
        *,
        name: str,
        rule: Rule,
        description: str | None,
        created_by: str | None,
        now: datetime,
    ) -> Segment:
        return cls(
            id=uuid.uuid4(),
            name=_name(name),
            description=_description(description),
            rule=rule,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )

    def changed(self, *, name: str, rule: Rule, description: str | None, now: datetime) -> Segment:
        return replace(
            self,
            name=_name(name),
            rule=rule,
            description=_description(description),
            updated_at=now,
        )


@dataclass(frozen=True)
class Member:
    """A customer in a segment, with the facts a member list shows."""

    customer_id: uuid.UUID
    order_count: int
    total_spent: Decimal
    currency: str | None
    last_order_at: datetime | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class SegmentCursor:
    """Where a listing stopped: the last segment's creation time and id."""

    created_at: datetime
    id: uuid.UUID


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= NAME_MAX:
        raise InvalidInput("name", f"a name of 1 to {NAME_MAX} characters")
    return cleaned


def _description(description: str | None) -> str | None:
    if description is None:
        return None
    cleaned = description.strip()
    if len(cleaned) > DESCRIPTION_MAX:
        raise InvalidInput("description", f"at most {DESCRIPTION_MAX} characters")
    return cleaned or None
