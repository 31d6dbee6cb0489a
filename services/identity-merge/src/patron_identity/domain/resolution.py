"""Resolution: which customer a set of identifiers belongs to.

An identifier has one owner in the identity graph. A request names its identifiers; the
first one already owned (external id before email before phone: an id a source assigned is
the surest) decides the customer. When none is owned a new customer is allocated, and the
identifiers are claimed in a fixed order, so of two requests racing for the same new
identifier exactly one creates the customer and the other one finds it.

A request whose identifiers are all unknown may still name a known person: with a name and
an address, postcode or date of birth it is matched probabilistically against the customers
(see `ResolveRequest.can_match_by_features`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from patron_identity.domain.matching import (
    NormalizationRules,
    PersonRecord,
    normalize_email,
    normalize_phone,
)
from patron_shared.errors import InvalidInput

IdentifierKind = Literal["external_id", "email", "phone"]
# How a resolve found its customer: an identifier, or a probable match of the person.
MatchedBy = IdentifierKind | Literal["probabilistic"]
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
    date_of_birth: date | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None

    @property
    def can_match_by_features(self) -> bool:
        """A name and an address, postcode or date of birth: enough to look the person up
        among the customers when no identifier is known."""
        has_name = bool(_text(self.first_name) or _text(self.last_name))
        has_place_or_birth = bool(
            _text(self.address1) or _text(self.postcode) or self.date_of_birth is not None
        )
        return has_name and has_place_or_birth

    def person_record(self) -> PersonRecord:
        """The person as the matcher compares them."""
        return PersonRecord(
            record_id="resolve",
            first_name=self.first_name,
            last_name=self.last_name,
            email=self.email,
            phone=self.phone,
            address1=self.address1,
            address2=self.address2,
            city=self.city,
            state=self.state,
            postcode=self.postcode,
            country=self.country,
            date_of_birth=self.date_of_birth,
        )

    def identifiers(self, rules: NormalizationRules) -> list[Identifier]:
        """Normalized, in match order. An email or phone that cannot be normalized is a
        422: resolving on a value nobody else can ever match would silently split people.
        No identifier at all is a 422 too, unless the person can be matched by features."""
        found: list[Identifier] = []
        if self.external_id:
            found.append(Identifier("external_id", f"{self.source}:{self.external_id.strip()}"))
        if self.email:
            email = normalize_email(self.email, rules)
            if email is None:
                raise InvalidInput("email", "not an email address")
            found.append(Identifier("email", email))
        if self.phone:
            phone = normalize_phone(self.phone, rules, country=self.country)
            if phone is None:
                raise InvalidInput("phone", "not a phone number")
            found.append(Identifier("phone", phone))
        if not found and not self.can_match_by_features:
            raise InvalidInput(
                "body",
                "give at least one of external_id, email or phone, or a name with an "
                "address, postcode or date of birth",
            )
        return found


def first_owned(
    identifiers: list[Identifier], owners: Mapping[Identifier, uuid.UUID]
) -> Identifier | None:
    """The identifier that decides the customer: the first in match order with an owner."""
    for identifier in identifiers:
        if identifier in owners:
            return identifier
    return None


def _text(value: str | None) -> str | None:
    return value.strip() or None if value else None
