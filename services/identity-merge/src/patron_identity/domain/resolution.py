"""Resolution: which customer a set of identifiers belongs to.

An identifier has one owner in the identity graph. A request names its identifiers; the
first one already owned (external id before email before phone: an id a source assigned is
the surest) decides the customer. When none is owned a new customer is allocated, and the
identifiers are claimed in a fixed order, so of two requests racing for the same new
identifier exactly one creates the customer and the other one finds it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from patron_identity.domain.matching import NormalizationRules, normalize_email, normalize_phone
from patron_shared.errors import InvalidInput

IdentifierKind = Literal["external_id", "email", "phone"]
MATCH_ORDER: tuple[IdentifierKind, ...] = ("external_id", "email", "phone")


@dataclass(frozen=True, order=True)
class Identifier:
    kind: IdentifierKind
    value: str


@dataclass(frozen=True)
class ResolveRequest:
    """Who asks (`source`: a connector's source, or "api") and what it knows of the person."""

    source: str
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    def identifiers(self, rules: NormalizationRules) -> list[Identifier]:
        """Normalized, in match order. An email or phone that cannot be normalized is a
        422: resolving on a value nobody else can ever match would silently split people."""
        found: list[Identifier] = []
        if self.external_id:
            found.append(Identifier("external_id", f"{self.source}:{self.external_id.strip()}"))
        if self.email:
            email = normalize_email(self.email, rules)
            if email is None:
                raise InvalidInput("email", "not an email address")
            found.append(Identifier("email", email))
        if self.phone:
            phone = normalize_phone(self.phone, rules)
            if phone is None:
                raise InvalidInput("phone", "not a phone number")
            found.append(Identifier("phone", phone))
        if not found:
            raise InvalidInput("body", "give at least one of external_id, email or phone")
        return found


def first_owned(
    identifiers: list[Identifier], owners: Mapping[Identifier, uuid.UUID]
) -> Identifier | None:
    """The identifier that decides the customer: the first in match order with an owner."""
    for identifier in identifiers:
        if identifier in owners:
            return identifier
    return None
