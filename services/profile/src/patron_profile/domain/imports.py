"""Customer imports without I/O: which column feeds which field, and one row's validation.

A file's columns map to customer fields by name (`DEFAULT_ALIASES`: `E-mail`, `First name`,
`surname`...) unless the caller maps them (`{"Courriel": "email", "Notes internes": null}`).
A row is checked by the same normalisation as the customer API (email, phone, names, tags);
every problem is reported with the row's number and the field, and a row with any problem
is left out while the others go on. The email is required: imports upsert by it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from patron_profile.domain.contact import (
    clean_name,
    normalize_email,
    normalize_phone,
    normalize_tags,
)
from patron_profile.domain.customer import Customer
from patron_shared.errors import InvalidInput

# What a file may set, in the template's column order. `accepts_marketing` is not among
# them: a marketing opt-in is a consent with its own source and time (the consents API).
IMPORT_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "tags",
    "notes",
    "source",
    "locale",
    "gender",
    "date_of_birth",
    "status",
)
GENDERS = ("female", "male", "non_binary", "other", "undisclosed")
STATUSES = ("active", "disabled")
TAG_SEPARATORS = re.compile(r"[;,|]")
_SOURCE = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_LIMITS = {"email": 320, "phone": 32, "first_name": 200, "last_name": 200, "notes": 10_000}

# Column names (normalised: lower case, words joined by `_`) that map to a field unasked.
DEFAULT_ALIASES: dict[str, str] = {
    **{name: name for name in IMPORT_FIELDS},
    "e_mail": "email",
    "email_address": "email",
    "mail": "email",
    "phone_number": "phone",
    "mobile": "phone",
    "telephone": "phone",
    "firstname": "first_name",
    "given_name": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "tag": "tags",
    "note": "notes",
    "language": "locale",
    "birthday": "date_of_birth",
    "birth_date": "date_of_birth",
    "dob": "date_of_birth",
}


def column_key(name: str) -> str:
    """`" E-Mail Address "` -> `e_mail_address`: how columns are matched to fields."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def parse_mapping(raw: Mapping[str, Any]) -> dict[str, str | None]:
    """A caller's mapping, checked: file column -> customer field, or null to ignore it."""
    mapping: dict[str, str | None] = {}
    targets: dict[str, str] = {}
    for column, target in raw.items():
        if target is not None and target not in IMPORT_FIELDS:
            raise InvalidInput(
                "mapping",
                f"column {column!r} maps to {target!r}, not a field; "
                f"one of {', '.join(IMPORT_FIELDS)} or null",
                location="query",
            )
        if target is not None and target in targets:
            raise InvalidInput(
                "mapping",
                f"columns {targets[target]!r} and {column!r} both map to {target!r}",
                location="query",
            )
        if target is not None:
            targets[target] = column
        mapping[column] = target
    return mapping


@dataclass
class ColumnMapping:
    """Which field each column of a file feeds; columns feeding none are `ignored`."""

    explicit: dict[str, str | None] = field(default_factory=dict)
    _resolved: dict[str, str | None] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def field_of(self, column: str) -> str | None:
        if column in self._resolved:
            return self._resolved[column]
        if column in self.explicit:
            target = self.explicit[column]
        else:
            target = DEFAULT_ALIASES.get(column_key(column))
            if target is not None and target in self.explicit.values():
                target = None  # the caller gave that field another column
        if target is not None and target in self._resolved.values():
            target = None  # two columns for one field: the first one wins
        if target is None:
            self.ignored.append(column)
        self._resolved[column] = target
        return target

    def apply(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record's values by field, for the columns that feed one."""
        values: dict[str, Any] = {}
        for column, value in record.items():
            target = self.field_of(column)
            if target is not None:
                values[target] = value
        return values


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass(frozen=True)
class ImportRow:
    """A row that passed: its number and its normalised fields (email always set)."""

    row: int
    fields: dict[str, Any]

    @property
    def email(self) -> str:
        email: str = self.fields["email"]
        return email


def validate_row(
    row: int, values: Mapping[str, Any], *, phone_default_region: str
) -> ImportRow | list[RowError]:
    """The row's fields normalised, or every problem found in it. Empty cells are absent
    values: they never clear what a customer already has."""
    fields: dict[str, Any] = {}
    errors: list[RowError] | None = None
    # Runs for every row of a file: one lookup per field given, text stripped once.
    for name in IMPORT_FIELDS:
        raw = values.get(name)
        if raw is None:
            continue
        if type(raw) is str:
            raw = raw.strip()
            if not raw:
                continue
        elif raw == [] or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            fields[name] = _CLEANERS[name](raw, phone_default_region)
        except InvalidInput as error:
            errors = errors or []
            errors.append(RowError(row, name, error.message))
        except (TypeError, ValueError) as error:
            errors = errors or []
            errors.append(RowError(row, name, str(error)))
    if "email" not in fields and not (errors and any(e.field == "email" for e in errors)):
        errors = errors or []
        errors.append(RowError(row, "email", "required: imports match customers by email"))
    return errors if errors else ImportRow(row, fields)


# What the import stores of a customer it creates, in the order of `new_customer_record`.
NEW_CUSTOMER_COLUMNS = ("id", "tenant_id", "created_at", "updated_at", *IMPORT_FIELDS)


def new_customer_record(
    customer_id: uuid.UUID, tenant_id: str, row: ImportRow, *, now: datetime, source: str
) -> tuple[Any, ...]:
    """The stored columns (`NEW_CUSTOMER_COLUMNS`) of the customer `row` creates: what
    `Customer.register` would store, without an aggregate per row (a file creates them by
    the hundred thousand). `source` applies when the row names none."""
    f = row.fields
    # IMPORT_FIELDS' order, spelled out: this runs for every row of a file
    return (
        customer_id,
        tenant_id,
        now,
        now,
        f["email"],
        f.get("phone"),
        f.get("first_name"),
        f.get("last_name"),
        f.get("tags", []),
        f.get("notes"),
        f.get("source", source),
        f.get("locale"),
        f.get("gender"),
        f.get("date_of_birth"),
        f.get("status", "active"),
    )


def changes_for(customer: Customer, fields: Mapping[str, Any]) -> dict[str, Any]:
    """What an imported row changes on an existing customer: the values it gives, with its
    tags added to the customer's (an import never removes a tag)."""
    changes = {name: value for name, value in fields.items() if name != "email"}
    if "tags" in changes:
        merged = customer.tags + [t for t in changes["tags"] if t not in customer.tags]
        changes["tags"] = normalize_tags(merged)
    return changes


@dataclass
class DuplicateFinder:
    """The first row of each email; a later row with the same email is a duplicate.

    Keeps the 64-bit hash of each address rather than the address: a million-row file
    costs tens of megabytes. Two different addresses sharing a hash (odds of about one in
    ten million for a million rows) would report the second as a duplicate."""

    _first_rows: dict[int, int] = field(default_factory=dict)

    def first_row_of(self, row: ImportRow) -> int | None:
        """The earlier row with this row's email, or None (and the row is remembered)."""
        return self._first_rows.setdefault(hash(row.email), row.row) if self._seen(row) else None

    def _seen(self, row: ImportRow) -> bool:
        key = hash(row.email)
        if key in self._first_rows:
            return True
        self._first_rows[key] = row.row
        return False


def _text_of(name: str, raw: Any) -> str:
    text = raw if type(raw) is str else str(raw).strip()
    limit = _LIMITS.get(name)
    if limit is not None and len(text) > limit:
        raise InvalidInput(name, f"at most {limit} characters")
    return text


def _tags(raw: Any, _: str) -> list[str]:
    items = raw if isinstance(raw, list) else TAG_SEPARATORS.split(str(raw))
    return normalize_tags([str(item) for item in items])


def _phone(raw: Any, phone_default_region: str) -> str:
    text = _text_of("phone", raw)
    try:
        return normalize_phone(text, default_region=phone_default_region)
    except InvalidInput:
        # the report is stored: it names the problem, not the number
        raise InvalidInput("phone", "not a valid phone number") from None


def _email(raw: Any, _: str) -> str:
    return normalize_email(_text_of("email", raw))


def _name(field_name: str) -> Callable[[Any, str], str | None]:
    def clean(raw: Any, _: str) -> str | None:
        return clean_name(_text_of(field_name, raw))

    return clean


def _notes(raw: Any, _: str) -> str:
    return _text_of("notes", raw)


def _source(raw: Any, _: str) -> str:
    source = _text_of("source", raw).lower()
    if not _SOURCE.match(source):
        raise InvalidInput("source", "lower-case letters, digits, `_` and `-`, at most 50")
    return source


def _locale(raw: Any, _: str) -> str:
    text = _text_of("locale", raw)
    if not _LOCALE.match(text):
        raise InvalidInput("locale", "a language tag such as `en` or `fr-CA`")
    return text


def _gender(raw: Any, _: str) -> str:
    text = _text_of("gender", raw).lower().replace("-", "_").replace(" ", "_")
    return _one_of("gender", text, GENDERS)


def _status(raw: Any, _: str) -> str:
    return _one_of("status", _text_of("status", raw).lower(), STATUSES)


def _date_of_birth(raw: Any, _: str) -> date:
    return _date(raw)


# Each field's cleaner: (the non-empty value, the default phone region) -> the stored value.
_CLEANERS: dict[str, Callable[[Any, str], Any]] = {
    "email": _email,
    "phone": _phone,
    "first_name": _name("first_name"),
    "last_name": _name("last_name"),
    "tags": _tags,
    "notes": _notes,
    "source": _source,
    "locale": _locale,
    "gender": _gender,
    "date_of_birth": _date_of_birth,
    "status": _status,
}


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _date(raw: Any) -> date:
    if isinstance(raw, date):
        return raw if type(raw) is date else raw.date()  # type: ignore[attr-defined]
    text = str(raw).strip()
    try:
        return date.fromisoformat(text[:10] if "T" in text else text)
    except ValueError:
        raise InvalidInput("date_of_birth", f"{text!r} is not a date (YYYY-MM-DD)") from None
