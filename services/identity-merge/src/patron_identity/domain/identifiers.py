"""Customer identifiers: the ways one person is recognised across sources."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from patron_identity.domain.resolution import Identifier
from patron_shared.events import CustomerSnapshot


@dataclass(frozen=True)
class CustomerIdentifiers:
    """Email lower-cased (addresses match case-insensitively), the phone as the profile
    normalised it, and external ids as `"<source>:<id>"` in a stable order."""

    email: str | None = None
    phone: str | None = None
    external_ids: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, *, email: str | None, phone: str | None, external_ids: Mapping[str, str]
    ) -> CustomerIdentifiers:
        email = email.strip().lower() if email else None
        return cls(
            email=email or None,
            phone=phone or None,
            external_ids=tuple(sorted(f"{source}:{id_}" for source, id_ in external_ids.items())),
        )

    @classmethod
    def from_snapshot(cls, customer: CustomerSnapshot) -> CustomerIdentifiers:
        return cls.of(
            email=customer.email, phone=customer.phone, external_ids=customer.external_ids
        )


# The source of identifiers claimed from the profile's own record of a customer.
PROFILE_SOURCE = "profile"


@dataclass(frozen=True)
class OwnedIdentifier:
    """An identifier in the identity graph, who reported it first and when it was seen."""

    identifier: Identifier
    source: str
    first_seen_at: datetime
    last_seen_at: datetime


def identifiers_to_release(
    owned: Iterable[OwnedIdentifier],
    current: Collection[Identifier],
    held_through_merges: Collection[Identifier],
) -> list[Identifier]:
    """What a customer stops owning when its profile record changes: identifiers the profile
    once gave it and gives no more. Identifiers a connector or resolve reported stay (the
    profile does not know them), and so do those it holds from a customer merged into it
    (an unmerge gives them back)."""
    return sorted(
        o.identifier
        for o in owned
        if o.source == PROFILE_SOURCE
        and o.identifier not in current
        and o.identifier not in held_through_merges
    )
