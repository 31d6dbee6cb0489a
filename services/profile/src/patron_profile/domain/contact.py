"""Normalising what people type: emails, phone numbers, tags, names."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from patron_shared.errors import InvalidInput

MAX_TAGS = 250
MAX_TAG_LENGTH = 255
_SPACES = re.compile(r"\s+")


def normalize_email(raw: str, *, field: str = "email") -> str:
    """Validated, lower-cased address (case-insensitive uniqueness depends on it)."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(field, str(error)) from None
    return result.normalized.lower()


def normalize_phone(raw: str, *, default_region: str, field: str = "phone") -> str:
    """E.164 (`+14155550123`); numbers without a country code use `default_region`."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidInput(field, f"not a phone number: {error}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(field, f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_tags(raw: list[str], *, field: str = "tags") -> list[str]:
    """Trimmed, single-spaced, lower-case, unique, in first-seen order."""
    tags: list[str] = []
    for value in raw:
        tag = _SPACES.sub(" ", value).strip().lower()
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
    name = _SPACES.sub(" ", raw).strip()
    return name or None
