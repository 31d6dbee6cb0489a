"""Reading untrusted webhook JSON: every failure names the field that broke."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from patron_shared.errors import InvalidInput

from .profile import SourceAddress

JsonObject = Mapping[str, Any]


def parse_json_object(body: bytes) -> JsonObject:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("body", f"is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidInput("body", "must be a JSON object")
    return document


def child(parent: JsonObject, key: str, path: str) -> JsonObject | None:
    """The nested object at `key`; null or absent reads as None."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(path, "must be an object")
    return value


def children(parent: JsonObject, key: str, path: str) -> list[JsonObject]:
    """The list of objects at `key`; null or absent reads as an empty list."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(path, "must be a list")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidInput(f"{path}[{index}]", "must be an object")
    return value


def text(parent: JsonObject, key: str, path: str) -> str | None:
    """A string field, stripped; null, absent or blank reads as None."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(path, "must be a string")
    return value.strip() or None


def flag(parent: JsonObject, key: str, path: str) -> bool | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidInput(path, "must be a boolean")
    return value


def numeric_id(parent: JsonObject, key: str, path: str) -> str:
    """A required positive integer id, as text. Digit strings are accepted because some
    senders quote large ids to survive JSON parsers that read numbers as doubles."""
    value = parent.get(key)
    if value is None:
        raise InvalidInput(path, "is required")
    if isinstance(value, bool):
        raise InvalidInput(path, "must be a positive integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise InvalidInput(path, "must be a positive integer")
    if number <= 0:
        raise InvalidInput(path, "must be a positive integer")
    return str(number)


def timestamp(parent: JsonObject, key: str, path: str) -> datetime | None:
    """An ISO 8601 timestamp in UTC. One without an offset is taken as UTC: the sources that
    omit it (WooCommerce's `*_gmt` fields) document their times as GMT."""
    raw = text(parent, key, path)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(path, "must be an ISO 8601 timestamp") from exc
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def country_code(value: str | None) -> str | None:
    """An ISO alpha-2 code upper-cased, or None. Webhook senders are not rejected over an odd
    country: refusing the delivery would only make them retry the same payload."""
    if value is None:
        return None
    code = value.strip().upper()
    if len(code) == 2 and code.isascii() and code.isalpha():
        return code
    return None


def address_or_none(address: SourceAddress) -> SourceAddress | None:
    return None if address == SourceAddress() else address
