"""GDPR erasure, as the profile orchestrates it: who must acknowledge, and the status.

`DELETE /api/v1/customers/{id}?mode=hard|anonymize` erases the profile's own data at once
and emits `CustomerErased` with a new `erasure_id`; each other service erases its copy and
answers `ErasureAcknowledged`. The erasure is done when every participant has answered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from patron_shared.events.customer import ErasureMode

PROFILE_PARTICIPANT = "profile"
# The profile's scrub of the dead-letter topics (`service.dead_letter_scrubs`).
DEAD_LETTERS_PARTICIPANT = "dead_letters"
# Every service (or part of one) that holds a copy of a customer and acknowledges its
# erasure, by the name it gives in `ErasureAcknowledged.service`.
ERASURE_PARTICIPANTS: tuple[str, ...] = (
    PROFILE_PARTICIPANT,
    "identity",
    "segmentation",
    "loyalty.points",
    "loyalty.credit",
    "notifications",
    DEAD_LETTERS_PARTICIPANT,
)

ParticipantStatus = Literal["pending", "done"]


@dataclass(frozen=True)
class PersonalValues:
    """What an erasure looks for of a customer in the messages it leaves behind.
    `identifiers` (email, phones, address lines) name the customer alone; `names` (its own
    and its addresses') are shared with other customers, so a dead letter is only about it
    when one holds a first and last name of it together."""

    identifiers: tuple[str, ...]
    names: tuple[tuple[str | None, str | None], ...]  # (first name, last name)

    @property
    def values(self) -> list[str]:
        """Every value, names included: what the import scrub redacts where an error message
        quotes it (a quote is cheap to lose; the outbox scrub looks for names together)."""
        return [*self.identifiers, *(name for pair in self.names for name in pair if name)]


@dataclass(frozen=True)
class ParticipantProgress:
    service: str
    status: ParticipantStatus
    completed_at: datetime | None = None


@dataclass(frozen=True)
class Erasure:
    erasure_id: uuid.UUID
    customer_id: uuid.UUID
    mode: ErasureMode
    requested_at: datetime
    requested_by: str | None = None
    # service -> when it acknowledged
    acknowledged: dict[str, datetime] = field(default_factory=dict)

    @property
    def participants(self) -> list[ParticipantProgress]:
        """Every expected participant, then any other that answered, in a stable order."""
        names = [*ERASURE_PARTICIPANTS]
        names += sorted(set(self.acknowledged) - set(names))
        return [
            ParticipantProgress(name, "done", self.acknowledged[name])
            if name in self.acknowledged
            else ParticipantProgress(name, "pending")
            for name in names
        ]

    @property
    def status(self) -> ParticipantStatus:
        done = all(p.status == "done" for p in self.participants)
        return "done" if done else "pending"

    @property
    def completed_at(self) -> datetime | None:
        """When the last participant answered, once all have."""
        if self.status != "done":
            return None
        return max(self.acknowledged.values())
