"""A customer's addresses: validation, and exactly one default per type.

The `AddressBook` aggregate holds one customer's addresses for the length of a use case. It
keeps the default rules (the first address of a type becomes its default; a new default
replaces the old one; deleting the default promotes the most recently created remaining
address of that type), records an `AddressChanged` for every address it changes, and says in
which order to write the changes so that the database's one-default-per-type index holds
after every single statement (`writes()`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from patron_profile.domain.contact import clean_name, normalize_phone
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import AddressChanged, AddressSnapshot

AddressType = Literal["billing", "shipping"]
ADDRESS_TYPES: tuple[AddressType, ...] = get_args(AddressType)
AddressChange = Literal["created", "updated", "deleted"]
MAX_ADDRESSES_PER_CUSTOMER = 100

# Fields a caller may set; `is_default` changes only through the default rules.
EDITABLE_FIELDS = (
    "type",
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "state",
    "pincode",
    "country",
    "phone",
)
REQUIRED_FIELDS = ("type", "address1", "country")
# What makes two addresses one place (`same_address`): names and phone aside.
POSTAL_FIELDS = ("address1", "address2", "city", "state", "pincode", "country")

# ISO 3166-1 alpha-2: the officially assigned codes (249), one initial letter a line.
_ISO_ALPHA2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    YE YT
    ZA ZM ZW
"""
ISO_COUNTRY_CODES = frozenset(_ISO_ALPHA2.split())


def normalize_country(raw: str, *, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased; anything else is invalid input."""
    code = raw.strip().upper()
    if code not in ISO_COUNTRY_CODES:
        raise InvalidInput(field, f"{raw!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def clean_address_fields(values: dict[str, Any], *, phone_default_region: str) -> dict[str, Any]:
    """Canonical forms of what the caller sent. Only the fields present are returned; an
    explicit null clears an optional field, and a required one cannot be cleared."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "unknown field")
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name == "type":
            clean[name] = _address_type(value)
        elif name == "country" and value is not None:
            clean[name] = normalize_country(value)
        elif name == "phone" and value is not None and value.strip():
            clean[name] = normalize_phone(value, default_region=phone_default_region)
        else:
            text = clean_name(value)
            clean[name] = text.upper() if name == "pincode" and text else text
    for name in REQUIRED_FIELDS:
        if name in clean and clean[name] is None:
            raise InvalidInput(name, "is required")
    return clean


def same_address(stored: Any, cleaned: Mapping[str, Any]) -> bool:
    """Whether a stored address is the postal address `cleaned` describes (case aside)."""
    return all(
        _folded(getattr(stored, name)) == _folded(cleaned.get(name)) for name in POSTAL_FIELDS
    )


def _folded(value: Any) -> str:
    return (value or "").casefold()


def _address_type(value: Any) -> AddressType:
    for kind in ADDRESS_TYPES:
        if value == kind:
            return kind
    raise InvalidInput("type", f"must be one of {', '.join(ADDRESS_TYPES)}")


@dataclass
class Address:
    id: uuid.UUID
    tenant_id: str
    customer_id: uuid.UUID
    type: AddressType
    address1: str
    country: str
    created_at: datetime
    updated_at: datetime
    is_default: bool = False
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    pincode: str | None = None
    phone: str | None = None

    @classmethod
    def new(
        cls,
        *,
        address_id: uuid.UUID,
        tenant_id: str,
        customer_id: uuid.UUID,
        now: datetime,
        **values: Any,
    ) -> Address:
        """An address from cleaned fields (`clean_address_fields`)."""
        unknown = set(values) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "unknown field")
        for name in REQUIRED_FIELDS:
            if values.get(name) is None:
                raise InvalidInput(name, "is required")
        return cls(
            id=address_id,
            tenant_id=tenant_id,
            customer_id=customer_id,
            created_at=now,
            updated_at=now,
            **values,
        )

    def snapshot(self) -> AddressSnapshot:
        """What events carry: the postal address (street lines included, so that services
        that deliver or verify can), but no names or phone (that PII stays here)."""
        return AddressSnapshot(
            type=self.type,
            is_default=self.is_default,
            address1=self.address1,
            address2=self.address2,
            city=self.city,
            state=self.state,
            pincode=self.pincode,
            country=self.country,
        )

    def _apply(self, changes: dict[str, Any]) -> list[str]:
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "field cannot be changed")
        for name in REQUIRED_FIELDS:
            if name in changes and changes[name] is None:
                raise InvalidInput(name, "is required")
        changed = [name for name, value in changes.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, changes[name])
        return changed


WriteKind = Literal["delete", "update", "insert"]


@dataclass(frozen=True)
class AddressWrite:
    kind: WriteKind
    address: Address


@dataclass
class AddressBook:
    """One customer's addresses, loaded whole: the default rules span all of them."""

    customer_id: uuid.UUID
    loaded: list[Address] = field(default_factory=list)
    events: list[AddressChanged] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._live: dict[uuid.UUID, Address] = {a.id: a for a in self.loaded}
        self._loaded_defaults = {a.id for a in self.loaded if a.is_default}
        self._inserted: dict[uuid.UUID, None] = {}
        self._updated: dict[uuid.UUID, None] = {}
        self._deleted: dict[uuid.UUID, Address] = {}

    @property
    def addresses(self) -> list[Address]:
        """Newest first."""
        return sorted(self._live.values(), key=_recency, reverse=True)

    def get(self, address_id: uuid.UUID) -> Address:
        address = self._live.get(address_id)
        if address is None:
            raise NotFound(f"address {address_id} not found")
        return address

    def default_of(self, kind: AddressType) -> Address | None:
        return next((a for a in self._live.values() if a.type == kind and a.is_default), None)

    def add(self, address: Address, *, make_default: bool = False) -> Address:
        """Add a new address; it becomes the default of its type when asked to, or when it
        is the first of its type."""
        if address.customer_id != self.customer_id:
            raise ValueError("the address belongs to another customer")
        if len(self._live) >= MAX_ADDRESSES_PER_CUSTOMER:
            raise Conflict(
                f"a customer has at most {MAX_ADDRESSES_PER_CUSTOMER} addresses",
                limit=MAX_ADDRESSES_PER_CUSTOMER,
            )
        address.is_default = False
        self._live[address.id] = address
        self._inserted[address.id] = None
        if make_default or self.default_of(address.type) is None:
            self._make_default(address, now=address.created_at)
        self._record(address, "created")
        return address

    def change(self, address_id: uuid.UUID, changes: dict[str, Any], *, now: datetime) -> Address:
        """Apply cleaned `changes`; a change of type hands the old type's default on."""
        address = self.get(address_id)
        old_type, was_default = address.type, address.is_default
        changed = address._apply(changes)
        if not changed:
            return address
        address.updated_at = now
        self._touch(address)
        if address.type != old_type:
            address.is_default = False
            if was_default:
                self._promote(old_type, now=now)
            if self.default_of(address.type) is None:
                address.is_default = True
        self._record(address, "updated")
        return address

    def set_default(self, address_id: uuid.UUID, *, now: datetime) -> Address:
        address = self.get(address_id)
        if address.is_default:
            return address
        self._make_default(address, now=now)
        self._record(address, "updated")
        return address

    def remove(self, address_id: uuid.UUID, *, now: datetime) -> Address:
        """Delete an address; when it was the default, the most recently created remaining
        address of its type (if any) becomes the default."""
        address = self.get(address_id)
        del self._live[address_id]
        self._updated.pop(address_id, None)
        if self._inserted.pop(address_id, None) is None:
            self._deleted[address_id] = address
        self._record(address, "deleted")
        if address.is_default:
            self._promote(address.type, now=now)
        return address

    def writes(self) -> list[AddressWrite]:
        """The statements that store this book's changes, in an order that never has two
        defaults of one type at once: deletions, then updates that leave an address without
        the default, then updates that give one the default (addresses that were a default
        when loaded first: one whose type changed frees its old type's slot), then inserts.
        """
        updated = [self._live[i] for i in self._updated if i not in self._inserted]
        cleared = [a for a in updated if not a.is_default]
        given = sorted(
            (a for a in updated if a.is_default), key=lambda a: a.id not in self._loaded_defaults
        )
        return [
            *(AddressWrite("delete", a) for a in self._deleted.values()),
            *(AddressWrite("update", a) for a in cleared),
            *(AddressWrite("update", a) for a in given),
            *(AddressWrite("insert", self._live[i]) for i in self._inserted),
        ]

    def pull_events(self) -> list[AddressChanged]:
        events, self.events = self.events, []
        return events

    def _make_default(self, address: Address, *, now: datetime) -> None:
        previous = self.default_of(address.type)
        if previous is not None and previous is not address:
            previous.is_default = False
            previous.updated_at = now
            self._touch(previous)
            self._record(previous, "updated")
        address.is_default = True
        address.updated_at = now
        self._touch(address)

    def _promote(self, kind: AddressType, *, now: datetime) -> None:
        candidates = [a for a in self._live.values() if a.type == kind]
        if not candidates or self.default_of(kind) is not None:
            return
        heir = max(candidates, key=_recency)
        heir.is_default = True
        heir.updated_at = now
        self._touch(heir)
        self._record(heir, "updated")

    def _touch(self, address: Address) -> None:
        if address.id not in self._inserted:
            self._updated[address.id] = None

    def _record(self, address: Address, change: AddressChange) -> None:
        self.events.append(
            AddressChanged(
                customer_id=self.customer_id,
                address_id=address.id,
                change=change,
                address=address.snapshot(),
            )
        )


def _recency(address: Address) -> tuple[datetime, str]:
    return address.created_at, str(address.id)
