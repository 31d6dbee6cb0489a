"""Customer identifiers: the ways one person is recognised across sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
