"""Normalising what people type: emails, phone numbers, tags, names."""

from __future__ import annotations

import re

import email_validator
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from patron_shared.errors import InvalidInput

MAX_TAGS = 250
MAX_TAG_LENGTH = 255
_SPACES = re.compile(r"\s+")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# The common shape of an address: ASCII dot-atoms, letters-only top-level domain. What it
# matches needs no more than lower-casing (the full validator's result, checked by tests).
_PLAIN_EMAIL = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
_SPECIAL_USE_DOMAINS = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def normalize_email(raw: str, *, field: str = "email") -> str:
    """Validated, lower-cased address (case-insensitive uniqueness depends on it)."""
    text = raw.strip()
    plain = _plain_email(text)
    if plain is not None:
        return plain
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(field, str(error)) from None
    return result.normalized.lower()


def _plain_email(text: str) -> str | None:
    """`text` lower-cased if it has the plain shape and none of what makes the validator
    change or refuse it (lengths, `xn--` labels, special-use domains); else None."""
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is None or len(match[1]) > 64 or len(text) > 254:
        return None
    domain = match[2].lower()
    if "--" in domain:
        return None
    labels = domain.split(".")
    # the domain or any domain above it (`a.b.test`: `a.b.test`, `b.test`, `test`)
    if any(".".join(labels[n:]) in _SPECIAL_USE_DOMAINS for n in range(len(labels))):
        return None
    return text.lower()


def normalize_phone(raw: str, *, default_region: str, field: str = "phone") -> str:
    """E.164 (`+14155550123`); numbers without a country code use `default_region`."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidInput(field, f"not a phone number: {error}") from None
    if not is_valid_phone_number(number):
        raise InvalidInput(field, f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_valid_phone_number(number: phonenumbers.PhoneNumber) -> bool:
    """`phonenumbers.is_valid_number`, in about half the time for numbers of their calling
    code's main region (+1 numbers of the United States, +44 of Great Britain...).

    For a code several regions share, `is_valid_number` first finds the number's region,
    trying them in order (the main one first) by testing the number against each region's
    patterns, then tests it against the region found again. A main region that no leading
    digits pick out is found exactly when the number is valid for it: such numbers are
    valid, and tested once. The others take the full way (tests hold the two equal)."""
    main = _MAIN_REGIONS.get(number.country_code or 0)  # (0: no code, no region)
    if main is not None and phonenumbers.is_valid_number_for_region(number, main):
        return True
    return bool(phonenumbers.is_valid_number(number))


def _main_regions() -> dict[int, str]:
    """The calling codes several regions share whose main region (tried first) is found by
    its number patterns alone (no leading digits): the code's main region."""
    found: dict[int, str] = {}
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        if len(regions) < 2:
            continue
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
        if metadata is not None and metadata.leading_digits is None:
            found[code] = regions[0]
    return found


_MAIN_REGIONS = _main_regions()


def normalize_tags(raw: list[str], *, field: str = "tags") -> list[str]:
    """Trimmed, single-spaced, lower-case, unique, in first-seen order."""
    tags: list[str] = []
    for value in raw:
        # a tag of letters and digits only has no whitespace to fold: no regex to run
        tag = value.lower() if value.isalnum() else _SPACES.sub(" ", value).strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidInput(field, f"a tag is longer than {MAX_TAG_LENGTH} characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(field, f"at most {MAX_TAGS} tags per customer")
    return tags


def clean_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    # str.split() splits on exactly the whitespace `\s` matches (str.isspace)
    name = " ".join(raw.split())
    return name or None
