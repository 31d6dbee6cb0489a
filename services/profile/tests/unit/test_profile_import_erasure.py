"""What an erasure leaves of an import's preview rows and error messages (no I/O)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from patron_profile.adapters.erasures import _redact_quotes, _scrubbed_preview_row
from patron_shared.db.erasure import REDACTED

# Values that cannot be read inside the marker itself ("[erased]" holds "era", "sed"...).
values = st.text(alphabet="xyzqwkj0123456789@.+", min_size=3, max_size=12)
texts = st.text(alphabet="xyzqwkj0123456789@.+ '", max_size=60)


@given(texts, st.lists(values, min_size=1, max_size=4), st.data())
def test_no_quoted_value_survives_in_any_case(
    text: str, wanted: list[str], data: st.DataObject
) -> None:
    quoted = data.draw(st.sampled_from(wanted))
    message = f"{text}{quoted.upper()}{text}"

    redacted = _redact_quotes(message, wanted)

    assert all(value.lower() not in redacted.lower() for value in wanted)
    assert REDACTED in redacted


def test_the_customers_own_row_keeps_its_shape_and_loses_every_value() -> None:
    row = {
        "row": 2,
        "action": "update",
        "fields": {"email": "ann@example.com", "first_name": "Ann", "tags": ["vip"]},
    }

    scrubbed = _scrubbed_preview_row(row, {"ann@example.com"}, ["ann@example.com", "Ann"])

    assert scrubbed == {
        "row": 2,
        "action": "update",
        "fields": {"email": REDACTED, "first_name": REDACTED, "tags": REDACTED},
    }


def test_another_customers_row_loses_only_quotes_of_the_email_or_phone() -> None:
    row = {
        "row": 3,
        "action": "create",
        "fields": {"email": "bob@example.com", "first_name": "Ann", "notes": "ann@example.com"},
    }

    scrubbed = _scrubbed_preview_row(row, {"ann@example.com"}, ["ann@example.com", "Ann"])

    assert scrubbed["fields"] == {
        "email": "bob@example.com",
        "first_name": "Ann",
        "notes": REDACTED,
    }


def test_an_error_row_loses_the_values_its_messages_quote() -> None:
    row = {
        "row": 4,
        "action": "error",
        "errors": [{"field": "date_of_birth", "message": "'Quist' is not a date (YYYY-MM-DD)"}],
    }

    scrubbed = _scrubbed_preview_row(row, {"ann@example.com"}, ["ann@example.com", "quist"])

    assert scrubbed["errors"] == [
        {"field": "date_of_birth", "message": f"'{REDACTED}' is not a date (YYYY-MM-DD)"}
    ]
