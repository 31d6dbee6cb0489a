"""Raw person records and their prepared form: normalized fields plus derived keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import jellyfish

from patron_identity.domain.matching.nicknames import formal_forms
from patron_identity.domain.matching.normalize import (
    DEFAULT_RULES,
    NormalizationRules,
    normalize_address,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postcode,
)


@dataclass(frozen=True)
class PersonRecord:
    """A person as one source describes them; any field may be missing."""

    record_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None  # ISO 3166 alpha-2 when known
    date_of_birth: date | None = None


@dataclass(frozen=True)
class PreparedName:
    """A normalized name with the keys it is compared and blocked on."""

    text: str
    phonetic: str | None  # metaphone of the letters, spaces removed
    formal_forms: frozenset[str]  # formal names it may shorten; itself when not a nickname

    @classmethod
    def of(cls, raw: str | None) -> PreparedName | None:
        text = normalize_name(raw)
        if text is None:
            return None
        letters = "".join(ch for ch in text if ch.isalpha())
        return cls(
            text=text,
            phonetic=(jellyfish.metaphone(letters) or None) if letters else None,
            formal_forms=formal_forms(text),
        )

    @property
    def initial(self) -> str:
        return self.text[0]


@dataclass(frozen=True)
class PreparedRecord:
    """A PersonRecord with normalized fields; None means missing."""

    record_id: str
    first_name: PreparedName | None
    last_name: PreparedName | None
    email: str | None
    email_local_part: str | None
    phone: str | None  # E.164
    phone_last7: str | None
    date_of_birth: date | None
    postcode: str | None
    address1: str | None
    city: str | None
    country: str | None


def prepare(record: PersonRecord, rules: NormalizationRules = DEFAULT_RULES) -> PreparedRecord:
    """Normalize a raw record once so that it can be compared with many others cheaply."""
    email = normalize_email(record.email, rules)
    phone = normalize_phone(record.phone, rules)
    country = (record.country.strip().upper() or None) if record.country else None
    return PreparedRecord(
        record_id=record.record_id,
        first_name=PreparedName.of(record.first_name),
        last_name=PreparedName.of(record.last_name),
        email=email,
        email_local_part=email.split("@", 1)[0] if email else None,
        phone=phone,
        phone_last7=phone[-7:] if phone else None,
        date_of_birth=record.date_of_birth,
        postcode=normalize_postcode(record.postcode, country),
        address1=normalize_address(record.address1),
        city=normalize_name(record.city),
        country=country,
    )
