"""Which dead letters are about an erased customer: by id, or by a personal value compared
through its salted hash, wherever the record holds it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from patron_shared.messaging.dead_letter_erasure import ErasedCustomer, RecordText, value_hash

CUSTOMER_ID = uuid.UUID("6f1c2a4e-0b7d-4c1e-9a53-2f0d8e7b1c90")
EMAIL = "Zelda.Quist+1@Example.com"
PHONE = "+14155550123"
FIRST_NAME = "Zelda7a1"
LAST_NAME = "Quist9b2"
KEY = b"test-erasure-key"
CUSTOMER = ErasedCustomer.of(CUSTOMER_ID, [EMAIL, PHONE, FIRST_NAME, LAST_NAME, None, " "], key=KEY)


def about(value: bytes | None, *, key: bytes | None = None, headers: Any = ()) -> bool:
    return CUSTOMER.named_in(RecordText.of(key, value, headers))


def envelope(data: dict[str, Any], subject: str | None = None) -> bytes:
    return json.dumps(
        {"id": str(uuid.uuid4()), "type": "CustomerCreated", "subject": subject, "data": data}
    ).encode()


def test_the_values_are_held_as_keyed_salted_hashes_only() -> None:
    held = repr(CUSTOMER) + "".join(CUSTOMER.value_hashes)
    for value in (EMAIL, PHONE, FIRST_NAME, LAST_NAME):
        assert value.lower() not in held.lower()
    assert KEY.decode() not in repr(CUSTOMER)
    # the phone also by its digits alone
    forms = (EMAIL, PHONE, "14155550123", FIRST_NAME, LAST_NAME)
    assert CUSTOMER.value_hashes == {value_hash(v, CUSTOMER.salt, KEY) for v in forms}
    # another salt, other hashes: the same email is not recognisable across scrubs
    again = ErasedCustomer.of(CUSTOMER_ID, [EMAIL], key=KEY)
    assert again.salt != CUSTOMER.salt
    assert not again.value_hashes & CUSTOMER.value_hashes
    # without the key, the salt and a guess give another hash
    unkeyed = ErasedCustomer.of(CUSTOMER_ID, [EMAIL], key=b"a guess", salt=CUSTOMER.salt)
    assert not unkeyed.value_hashes & CUSTOMER.value_hashes


def test_a_record_keyed_by_the_customer_is_about_it() -> None:
    assert about(b"{}", key=str(CUSTOMER_ID).encode())


def test_a_record_naming_the_customer_id_anywhere_is_about_it() -> None:
    assert about(envelope({"merged": [str(uuid.uuid4()), str(CUSTOMER_ID).upper()]}))
    assert about(b"not json " + str(CUSTOMER_ID).encode())
    assert about(b"{}", headers=[("x-dlq-error-message", f"no customer {CUSTOMER_ID}".encode())])


def test_a_record_holding_a_personal_value_in_any_case_is_about_it() -> None:
    assert about(envelope({"customer": {"email": "  zelda.quist+1@EXAMPLE.com "}}))
    assert about(envelope({"lines": [{"recipient": PHONE}]}))
    assert about(envelope({"phone": 14155550123}))  # a number where a string belongs
    assert about(envelope({"phone": "+1 (415) 555-0123"}))
    assert about(envelope({"name": LAST_NAME.upper()}))


def test_a_value_quoted_in_an_error_message_or_a_broken_payload_is_found() -> None:
    error = f"1 validation error: value is not a valid email [input_value='{EMAIL}', type=str]"
    assert about(b"{}", headers=[("x-dlq-error-message", error.encode())])
    assert about(b'{"type": "CustomerCreated", "data": {"email": "' + EMAIL.encode() + b'"')
    assert about(f"Dear {FIRST_NAME}, your order".encode())


def test_a_record_about_someone_else_is_not_about_the_customer() -> None:
    other = envelope(
        {"email": "zelda.quist+2@example.com", "first_name": "Zelda", "phone": "+14155550124"},
        subject=str(uuid.uuid4()),
    )
    assert not about(other, key=str(uuid.uuid4()).encode(), headers=[("x-dlq-attempts", b"5")])
    assert not about(None)


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=20)
json_documents = st.recursive(
    st.none() | st.booleans() | words,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(words, children, max_size=4),
    max_leaves=12,
)


@given(document=json_documents, value=st.sampled_from([EMAIL, PHONE, FIRST_NAME, LAST_NAME]))
def test_a_personal_value_placed_anywhere_in_any_document_is_found(
    document: Any, value: str
) -> None:
    placed = {"before": document, "deep": [{"x": f"  {value.swapcase()}\t"}]}
    assert about(json.dumps(placed).encode())


@given(document=json_documents, headers=st.lists(st.tuples(words, words), max_size=3))
def test_a_document_without_the_id_or_a_personal_value_is_never_about_the_customer(
    document: Any, headers: list[tuple[str, str]]
) -> None:
    # letters and spaces only: never an email, phone, or one of the names (they hold digits)
    encoded = [(name, value.encode()) for name, value in headers]
    assert not about(json.dumps(document).encode(), headers=encoded)
