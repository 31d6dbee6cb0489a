"""What identity knows of a profile customer: its identifiers and matching features.

Events about one customer may arrive late or twice, so each change says whether it changed
anything and a stale snapshot never rolls a record back. Deleted is final; erased keeps no
personal data; merged (`merged_into`) hands the customer's identifiers to its survivor until
an unmerge gives them back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from patron_identity.domain.addresses import KnownAddress, matching_address
from patron_identity.domain.identifiers import CustomerIdentifiers
from patron_identity.domain.matching import (
    NormalizationRules,
    PersonRecord,
    normalize_email,
    normalize_phone,
)
from patron_identity.domain.resolution import Identifier
from patron_shared.events import AddressChanged, CustomerSnapshot
from patron_shared.events.customer import ErasureMode

# A record created by an event that carries no snapshot (an address, a merge): any real
# snapshot is newer, so the customer's data still comes in when its snapshot does.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class IdentityCustomer:
    customer_id: uuid.UUID
    # The newest `customer.updated_at` (or deletion/erasure time) this record reflects.
    source_updated_at: datetime
    email: str | None = None
    phone: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)
    first_name: str | None = None
    last_name: str | None = None
    deleted_at: datetime | None = None
    # Matching features. The address is the one `matching_address` picks from `addresses`.
    date_of_birth: date | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    # The survivor this customer was merged into; None while it stands on its own.
    merged_into: uuid.UUID | None = None
    # When the profile created the customer: of two duplicates the older one survives.
    created_at: datetime | None = None
    addresses: dict[uuid.UUID, KnownAddress] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, customer_id: uuid.UUID, customer: CustomerSnapshot) -> IdentityCustomer:
        record = cls(customer_id=customer_id, source_updated_at=customer.updated_at)
        record._take(customer)
        return record

    @classmethod
    def placeholder(cls, customer_id: uuid.UUID) -> IdentityCustomer:
        """A customer heard of before its snapshot; the snapshot fills it in."""
        return cls(customer_id=customer_id, source_updated_at=NEVER)

    @classmethod
    def tombstone(cls, customer_id: uuid.UUID, at: datetime) -> IdentityCustomer:
        """A customer deleted before its creation was seen: a late snapshot stays ignored."""
        return cls(customer_id=customer_id, source_updated_at=at, deleted_at=at)

    @classmethod
    def erased(cls, customer_id: uuid.UUID, *, at: datetime, mode: ErasureMode) -> IdentityCustomer:
        """A customer erased before its creation was seen: a late snapshot stays ignored."""
        return cls(
            customer_id=customer_id, source_updated_at=at, deleted_at=at if mode == "hard" else None
        )

    @property
    def identifiers(self) -> CustomerIdentifiers:
        return CustomerIdentifiers.of(
            email=self.email, phone=self.phone, external_ids=self.external_ids
        )

    @property
    def is_active(self) -> bool:
        """Neither deleted nor merged away: it owns identifiers and can be matched."""
        return self.deleted_at is None and self.merged_into is None

    def claimable_identifiers(self, rules: NormalizationRules) -> list[Identifier]:
        """The identity graph's identifiers for this profile record, normalized as resolve
        normalizes them; an email or phone that does not normalize is not an identifier."""
        found = [
            Identifier("external_id", f"{source}:{id_.strip()}")
            for source, id_ in sorted(self.external_ids.items())
            if id_.strip()
        ]
        email = normalize_email(self.email, rules)
        if email is not None:
            found.append(Identifier("email", email))
        phone = normalize_phone(self.phone, rules, country=self.country)
        if phone is not None:
            found.append(Identifier("phone", phone))
        return sorted(found)

    def person_record(self) -> PersonRecord:
        """This customer as the matcher compares people."""
        return PersonRecord(
            record_id=str(self.customer_id),
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

    def apply(self, customer: CustomerSnapshot) -> bool:
        """Take a newer snapshot; False when it is stale or the customer is gone."""
        if self.deleted_at is not None or customer.updated_at <= self.source_updated_at:
            return False
        self._take(customer)
        self.source_updated_at = customer.updated_at
        return True

    def change_address(self, event: AddressChanged) -> bool:
        """Follow one of the customer's addresses; False when nothing changed."""
        if self.deleted_at is not None:
            return False
        before = (dict(self.addresses), self._address_fields())
        if event.change == "deleted" or event.address is None:
            self.addresses.pop(event.address_id, None)
        else:
            known = self.addresses.get(event.address_id)
            sequence = (
                known.sequence
                if known is not None
                else max((a.sequence for a in self.addresses.values()), default=0) + 1
            )
            self.addresses[event.address_id] = KnownAddress.of(event.address, sequence=sequence)
        self._take_address()
        return (self.addresses, self._address_fields()) != before

    def delete(self, *, at: datetime) -> bool:
        if self.deleted_at is not None:
            return False
        self.deleted_at = at
        self.source_updated_at = max(self.source_updated_at, at)
        return True

    def erase(self, *, at: datetime, mode: ErasureMode) -> bool:
        """Forget every personal field; `hard` erasure also removes the customer."""
        before = replace(self, external_ids=dict(self.external_ids), addresses=dict(self.addresses))
        self.email = self.phone = self.first_name = self.last_name = None
        self.external_ids = {}
        self.date_of_birth = None
        self.addresses = {}
        self._take_address()
        self.source_updated_at = max(self.source_updated_at, at)
        if mode == "hard" and self.deleted_at is None:
            self.deleted_at = at
        return self != before

    def merge_into(self, survivor_id: uuid.UUID) -> bool:
        """Become a merged-away customer of `survivor_id`; False if it already is."""
        if survivor_id == self.customer_id:
            raise ValueError("a customer cannot be merged into itself")
        if self.merged_into == survivor_id:
            return False
        self.merged_into = survivor_id
        return True

    def restore(self) -> bool:
        """Stand on its own again after an unmerge."""
        if self.merged_into is None:
            return False
        self.merged_into = None
        return True

    def _take(self, customer: CustomerSnapshot) -> None:
        self.email = CustomerIdentifiers.from_snapshot(customer).email
        self.phone = customer.phone
        self.external_ids = dict(customer.external_ids)
        self.first_name = customer.first_name
        self.last_name = customer.last_name
        self.date_of_birth = customer.date_of_birth
        self.created_at = customer.created_at

    def _take_address(self) -> None:
        current = matching_address(self.addresses)
        self.address1 = current.address1 if current else None
        self.address2 = current.address2 if current else None
        self.city = current.city if current else None
        self.state = current.state if current else None
        self.postcode = current.postcode if current else None
        self.country = current.country if current else None

    def _address_fields(self) -> tuple[str | None, ...]:
        return (self.address1, self.address2, self.city, self.state, self.postcode, self.country)
