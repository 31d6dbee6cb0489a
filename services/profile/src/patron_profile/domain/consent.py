"""Customer consents: what a customer agreed to, per purpose, with the full history.

Every opt-in and opt-out is a `ConsentEntry` in an append-only history. A purpose's current
state is the entry that takes precedence among all of its entries (`ConsentEntry.precedence`):
the latest `occurred_at` wins; at the same instant a revocation wins over a grant (the
cautious reading); then the higher entry id. That is a total order on entries, so any order
of arrival folds to the same state (`current_state`), and an entry older than the current
state (an out-of-order import) is kept in the history without changing anything.

A purpose nobody has recorded is not granted. An entry that does not flip the grant (say a
second opt-in) may still become the current state (newer time, new source) but announces
nothing; one that flips it announces `ConsentChanged`.

Purposes and the event contract: the marketing purposes have a channel and map onto
`ConsentChanged`'s (channel, purpose). Purposes without a channel (`data_processing`,
`profiling`, ...) are stored, listed and kept in the history but announce nothing: the
contract's `channel` is required, and making it optional would break its consumers, so
these would need an event of their own.

The customer's `accepts_marketing` is the current `email_marketing` grant.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from patron_shared.errors import InvalidInput
from patron_shared.events import ConsentChanged
from patron_shared.events.customer import ConsentChannel

ConsentPurpose = Literal[
    "email_marketing",
    "sms_marketing",
    "whatsapp_marketing",
    "push_marketing",
    "data_processing",
    "profiling",
    "analytics",
    "third_party_sharing",
]
CONSENT_PURPOSES: tuple[ConsentPurpose, ...] = get_args(ConsentPurpose)
ContractPurpose = Literal["marketing", "transactional"]

# Purposes with a channel, as `ConsentChanged` names them; the others have none.
CHANNELS: dict[ConsentPurpose, tuple[ConsentChannel, ContractPurpose]] = {
    "email_marketing": ("email", "marketing"),
    "sms_marketing": ("sms", "marketing"),
    "whatsapp_marketing": ("whatsapp", "marketing"),
    "push_marketing": ("push", "marketing"),
}
# The purpose `accepts_marketing` mirrors.
MARKETING_PURPOSE: ConsentPurpose = "email_marketing"
# What the customer API records when a caller sets `accepts_marketing`.
PROFILE_API_SOURCE = "profile_api"
# Callers' clocks may run a little ahead of ours; anything further ahead is rejected.
CLOCK_SKEW = timedelta(seconds=5)

_SOURCE = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
MAX_USER_AGENT = 512
MAX_RECORDED_BY = 255


def parse_purpose(value: str) -> ConsentPurpose:
    for purpose in CONSENT_PURPOSES:
        if value == purpose:
            return purpose
    raise InvalidInput("purpose", f"must be one of {', '.join(CONSENT_PURPOSES)}")


def channel_of(purpose: str) -> ConsentChannel | None:
    mapped = CHANNELS.get(parse_purpose(purpose))
    return mapped[0] if mapped else None


@dataclass(frozen=True)
class ConsentEntry:
    """One opt-in or opt-out as it was recorded: never changed afterwards."""

    id: uuid.UUID
    customer_id: uuid.UUID
    purpose: ConsentPurpose
    granted: bool
    occurred_at: datetime
    source: str
    recorded_at: datetime
    recorded_by: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None

    @classmethod
    def new(
        cls,
        *,
        customer_id: uuid.UUID,
        purpose: str,
        granted: bool,
        source: str,
        now: datetime,
        occurred_at: datetime | None = None,
        recorded_by: str | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
        entry_id: uuid.UUID | None = None,
    ) -> ConsentEntry:
        """A validated entry; `occurred_at` defaults to `now` and must not be later."""
        if occurred_at is not None:
            if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
                raise InvalidInput("occurred_at", "needs a time zone")
            if occurred_at > now + CLOCK_SKEW:
                raise InvalidInput("occurred_at", "must not be in the future")
        if not _SOURCE.match(source):
            raise InvalidInput("source", "lower-case letters, digits, '_' or '-' (at most 50)")
        return cls(
            id=entry_id or uuid.uuid4(),
            customer_id=customer_id,
            purpose=parse_purpose(purpose),
            granted=granted,
            occurred_at=occurred_at or now,
            source=source,
            recorded_at=now,
            recorded_by=_trimmed(recorded_by, MAX_RECORDED_BY),
            ip_address=_ip_address(ip_address),
            user_agent=_trimmed(user_agent, MAX_USER_AGENT),
        )

    @property
    def precedence(self) -> tuple[datetime, bool, uuid.UUID]:
        """Entries compare by this: the greatest is the current state of its purpose."""
        return (self.occurred_at, not self.granted, self.id)


@dataclass(frozen=True)
class Consent:
    """The current state of one purpose: the entry that took precedence."""

    customer_id: uuid.UUID
    purpose: ConsentPurpose
    granted: bool
    occurred_at: datetime
    source: str
    entry_id: uuid.UUID
    recorded_at: datetime
    recorded_by: str | None = None

    @classmethod
    def of(cls, entry: ConsentEntry) -> Consent:
        return cls(
            customer_id=entry.customer_id,
            purpose=entry.purpose,
            granted=entry.granted,
            occurred_at=entry.occurred_at,
            source=entry.source,
            entry_id=entry.id,
            recorded_at=entry.recorded_at,
            recorded_by=entry.recorded_by,
        )

    @property
    def precedence(self) -> tuple[datetime, bool, uuid.UUID]:
        return (self.occurred_at, not self.granted, self.entry_id)

    @property
    def channel(self) -> ConsentChannel | None:
        return channel_of(self.purpose)


@dataclass(frozen=True)
class ConsentDecision:
    """What recording `entry` did to its purpose."""

    entry: ConsentEntry
    current: Consent  # the purpose's state after the entry
    applied: bool  # the entry is now the current state
    changed: bool  # the grant flipped

    def event(self) -> ConsentChanged | None:
        """`ConsentChanged` for a flip of a purpose with a channel; None otherwise."""
        mapped = CHANNELS.get(self.entry.purpose)
        if not self.changed or mapped is None:
            return None
        channel, purpose = mapped
        return ConsentChanged(
            customer_id=self.entry.customer_id,
            channel=channel,
            purpose=purpose,
            granted=self.current.granted,
            changed_at=self.current.occurred_at,
            source=self.current.source,
        )


def is_granted(current: Consent | None) -> bool:
    """A purpose nobody has recorded is not granted."""
    return current is not None and current.granted


def apply_entry(current: Consent | None, entry: ConsentEntry) -> ConsentDecision:
    """Fold one entry into its purpose's current state."""
    if current is not None and current.purpose != entry.purpose:
        raise ValueError(f"entry for {entry.purpose} applied to {current.purpose}")
    if current is not None and entry.precedence <= current.precedence:
        return ConsentDecision(entry, current, applied=False, changed=False)
    after = Consent.of(entry)
    return ConsentDecision(entry, after, applied=True, changed=after.granted != is_granted(current))


def current_state(entries: list[ConsentEntry]) -> dict[ConsentPurpose, Consent]:
    """The current state of every purpose in `entries`, whatever their order."""
    state: dict[ConsentPurpose, Consent] = {}
    for entry in entries:
        state[entry.purpose] = apply_entry(state.get(entry.purpose), entry).current
    return state


def _trimmed(raw: str | None, limit: int) -> str | None:
    text = (raw or "").strip()
    return text[:limit] or None


def _ip_address(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise InvalidInput("ip_address", "not an IPv4 or IPv6 address") from None
