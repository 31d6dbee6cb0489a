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
    email_local_letters: str | None  # the local part's letters and digits only
    name_forms: frozenset[str]  # see `_name_forms`
    phone: str | None  # E.164
    phone_last7: str | None
    date_of_birth: date | None
    postcode: str | None
    address1: str | None
    address1_letters: str | None  # the street line's letters and digits, unabbreviated
    address_lines: str | None  # both address lines, normalized, for a line written in either
    city: str | None
    country: str | None


def _name_forms(first: PreparedName | None, last: PreparedName | None) -> frozenset[str]:
    """How a name is commonly written as an email local part: "annlee", "leeann", "alee",
    with the formal names a nickname shortens ("robertlee" for bob lee)."""
    family = "".join(ch for ch in last.text if ch.isalnum()) if last else ""
    forms = {family}
    for name in {first.text, *first.formal_forms} if first else {""}:
        given = "".join(ch for ch in name if ch.isalnum())
        forms |= {given + family, family + given, given[:1] + family, given + family[:1], given}
    return frozenset(forms - {""})


def _letters_and_digits(text: str | None) -> str | None:
    kept = "".join(ch for ch in text if ch.isalnum()) if text else ""
    return kept or None


def prepare(record: PersonRecord, rules: NormalizationRules = DEFAULT_RULES) -> PreparedRecord:
    """Normalize a raw record once so that it can be compared with many others cheaply."""
    email = normalize_email(record.email, rules)
    phone = normalize_phone(record.phone, rules, country=record.country)
    country = (record.country.strip().upper() or None) if record.country else None
    first_name, last_name = PreparedName.of(record.first_name), PreparedName.of(record.last_name)
    local_part = email.split("@", 1)[0] if email else None
    return PreparedRecord(
        record_id=record.record_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        email_local_part=local_part,
        email_local_letters="".join(ch for ch in local_part if ch.isalnum())
        if local_part
        else None,
        name_forms=_name_forms(first_name, last_name),
        phone=phone,
        phone_last7=phone[-7:] if phone else None,
        date_of_birth=record.date_of_birth,
        postcode=normalize_postcode(record.postcode, country),
        address1=normalize_address(record.address1),
        address1_letters=_letters_and_digits(normalize_name(record.address1)),
        address_lines=normalize_address(
            " ".join(line for line in (record.address1, record.address2) if line)
        ),
        city=normalize_name(record.city),
        country=country,
    )
