"""Customer metadata: key/value entries that staff and other modules attach to a customer.

Each entry says which module wrote it last (`module_source`: "loyalty", "storefront",
"admin", ...) and who (`updated_by`, the caller's token subject). A customer has at most one
entry per key; writing a key again replaces its value and its module (last writer wins).
Values are any JSON up to 16 KB once serialized compactly as UTF-8.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron_shared.errors import InvalidInput

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,99}")
MODULE_SOURCE_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,49}")
MAX_VALUE_BYTES = 16 * 1024


def clean_metadata_key(value: str, *, location: str = "path") -> str:
    """A key as given: lower-case letters, digits and `_.:-`, 1 to 100 characters."""
    if not KEY_PATTERN.fullmatch(value):
        raise InvalidInput(
            "key",
            "must match ^[a-z0-9][a-z0-9_.:-]{0,99}$ (lower-case letters, digits and _.:-)",
            location=location,
        )
    return value


def clean_module_source(value: str, *, location: str = "body") -> str:
    """The writing module's name, lower-cased: a letter, then letters, digits or `_.-`."""
    name = value.strip().lower()
    if not MODULE_SOURCE_PATTERN.fullmatch(name):
        raise InvalidInput(
            "module_source",
            "must be a module name: a letter, then letters, digits or _.- (at most 50)",
            location=location,
        )
    return name


def clean_metadata_value(value: Any) -> Any:
    """Any JSON value (null included) of at most `MAX_VALUE_BYTES` serialized."""
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise InvalidInput("value", "must be JSON (no NaN or Infinity)") from None
    size = len(encoded.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise InvalidInput(
            "value",
            f"is {size} bytes serialized; at most {MAX_VALUE_BYTES} are allowed",
            limit=MAX_VALUE_BYTES,
        )
    if _has_nul(value):
        # PostgreSQL's jsonb cannot store U+0000.
        raise InvalidInput("value", "must not contain the NUL character (\\u0000)")
    return value


def _has_nul(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


@dataclass
class MetadataEntry:
    tenant_id: str
    customer_id: uuid.UUID
    key: str
    value: Any
    module_source: str
    updated_by: str
    updated_at: datetime
    created_at: datetime

    @classmethod
    def set(
        cls,
        *,
        tenant_id: str,
        customer_id: uuid.UUID,
        key: str,
        value: Any,
        module_source: str,
        updated_by: str,
        now: datetime,
    ) -> MetadataEntry:
        """The entry a write makes, validated. When the key exists already the repository
        keeps its `created_at` and takes everything else from this one."""
        return cls(
            tenant_id=tenant_id,
            customer_id=customer_id,
            key=clean_metadata_key(key),
            value=clean_metadata_value(value),
            module_source=clean_module_source(module_source),
            updated_by=updated_by,
            updated_at=now,
            created_at=now,
        )
