"""Which dead letters are about an erased customer: by id, by a strong identifier (email,
phone) or by its full name, compared through salted hashes wherever the record holds them;
never by a first or last name alone, which other customers share."""

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
CUSTOMER = ErasedCustomer.of(
    CUSTOMER_ID, [EMAIL, PHONE, None, " "], names=[(FIRST_NAME, LAST_NAME)], key=KEY
)


def about(value: bytes | None, *, key: bytes | None = None, headers: Any = ()) -> bool:
    return CUSTOMER.named_in(RecordText.of(key, value, headers))


def envelope(data: dict[str, Any], subject: str | None = None) -> bytes:
    return json.dumps(
        {"id": str(uuid.uuid4()), "type": "CustomerCreated", "subject": subject, "data": data}
    ).encode()


def test_the_values_are_held_as_keyed_salted_hashes_only() -> None:
    held = repr(CUSTOMER) + "".join(
        CUSTOMER.value_hashes | CUSTOMER.name_hashes | CUSTOMER.full_name_hashes
    )
    for value in (EMAIL, PHONE, FIRST_NAME, LAST_NAME):
        assert value.lower() not in held.lower()
    assert KEY.decode() not in repr(CUSTOMER)

    def hashed(*forms: str) -> set[str]:
        return {value_hash(v, CUSTOMER.salt, KEY) for v in forms}

    # the phone also by its digits alone; the names apart from the strong identifiers
    assert CUSTOMER.value_hashes == hashed(EMAIL, PHONE, "14155550123")
    assert CUSTOMER.name_hashes == hashed(FIRST_NAME, LAST_NAME)
    assert CUSTOMER.full_name_hashes == hashed(
        f"{FIRST_NAME} {LAST_NAME}", f"{LAST_NAME} {FIRST_NAME}"
    )
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
    assert about(envelope({"name": f"  {FIRST_NAME.upper()}   {LAST_NAME} "}))


def test_a_value_quoted_in_an_error_message_or_a_broken_payload_is_found() -> None:
    error = f"1 validation error: value is not a valid email [input_value='{EMAIL}', type=str]"
    assert about(b"{}", headers=[("x-dlq-error-message", error.encode())])
    assert about(b'{"type": "CustomerCreated", "data": {"email": "' + EMAIL.encode() + b'"')
    assert about(f"Dear {FIRST_NAME} {LAST_NAME}, your order".encode())


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


@given(
    document=json_documents,
    value=st.sampled_from(
        [EMAIL, PHONE, f"{FIRST_NAME} {LAST_NAME}", f"{LAST_NAME}, {FIRST_NAME}"]
    ),
)
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


# A customer with common names, as most are: its names must not take others' records.
ANN_ID = uuid.UUID("0b5e7f0e-8d2a-4a51-8f0c-5c7e2d1b9a44")
ANN_EMAIL = "ann.smith@example.com"
ANN_PHONE = "+447700900123"
ANN = ErasedCustomer.of(
    ANN_ID,
    [ANN_EMAIL, ANN_PHONE],
    # its own names, and those on one of its addresses
    names=[("Ann", "Smith"), ("Mary Ann", "O'Brien"), ("Ann", None)],
    key=KEY,
)


def about_ann(value: bytes | None, *, key: bytes | None = None, headers: Any = ()) -> bool:
    return ANN.named_in(RecordText.of(key, value, headers))


def test_another_customer_with_the_same_first_or_last_name_keeps_its_dead_letters() -> None:
    for person in (
        {"first_name": "John", "last_name": "Smith"},
        {"first_name": "Ann", "last_name": "Jones"},
        {"first_name": "Smith", "last_name": "Jones"},
        {"first_name": "Ann", "last_name": None},
        {"full_name": "Ann Jones"},
        {"shipping_name": "Mary Ann Jones", "billing_name": "Mary O'Neill"},
    ):
        assert not about_ann(envelope({"customer": person, "email": "john@example.com"}))
    # the first name of one person and the last name of another, each in its own object
    assert not about_ann(
        envelope(
            {
                "customer": {"first_name": "Ann", "last_name": "Jones"},
                "shipping": {"first_name": "John", "last_name": "Smith"},
            }
        )
    )
    # in texts: a single name, or both names apart
    assert not about_ann(b"Dear Ann, your order for Mr Smith has shipped")
    assert not about_ann(b"{}", headers=[("x-dlq-error-message", b"no such customer: Smith")])
    assert not about_ann(envelope({"note": "Smith", "tags": ["ann"]}))
    # a JSON value's own text is not prose: names in nested objects, or a key and its value,
    # are not adjacent words
    assert not about_ann(envelope({"first": "Ann", "address": {"street": "Smith"}}))
    assert not about_ann(json.dumps({"Ann": "Smith"}).encode())
    assert not about_ann(json.dumps([{"a": "Ann"}, {"b": "Smith"}]).encode())
    # words that only contain the names
    assert not about_ann(b"Annabel Smithson and Joanne Blacksmith")


def test_the_customers_record_naming_it_by_its_full_name_only_is_about_it() -> None:
    # first and last name as values of one object, in any order, without id, email or phone
    assert about_ann(envelope({"customer": {"first_name": "ANN", "last_name": "smith"}}))
    assert about_ann(envelope({"lines": [{"surname": "Smith", "given": " Ann ", "qty": 2}]}))
    # the full name in one value, in a text, surname first, or quoted in an error message
    assert about_ann(envelope({"shipping_name": "Ann Smith"}))
    assert about_ann(envelope({"note": "Please call Ann  Smith before delivery."}))
    assert about_ann(b"not json: deliver to SMITH, Ann")
    error = b"1 validation error: value is not valid [input_value='Ann Smith', type=str]"
    assert about_ann(b"{}", headers=[("x-dlq-error-message", error)])
    # the names of its address: a first name of several words, a name with an apostrophe
    assert about_ann(envelope({"recipient": "Mary Ann O'Brien"}))
    assert about_ann(envelope({"first_name": "Mary Ann", "last_name": "O'Brien"}))
    assert about_ann(b"Dear Mary Ann O'Brien!")
    # but not the address's first name with the customer's last name: not a name it has
    assert not about_ann(envelope({"first_name": "Mary Ann", "last_name": "Smith"}))


def test_the_strong_identifiers_still_match_alone_in_every_form() -> None:
    for record in (
        envelope({"email": ANN_EMAIL.upper()}),
        envelope({"phone": "+44 7700 900123"}),
        envelope({"phone": 447700900123}),
        f"could not send to {ANN_EMAIL}: mailbox full".encode(),
        b"sms to (+44) 7700-900-123 failed",
        envelope({"merged_into": str(ANN_ID).upper()}),
    ):
        assert about_ann(record), record
    assert about_ann(b"{}", key=str(ANN_ID).encode())
    assert about_ann(b"{}", headers=[("x-dlq-error-message", f"no {ANN_ID}".encode())])


def test_a_customer_held_the_old_way_matches_each_value_alone_as_it_did() -> None:
    # scrubs stored before names were told apart: every value a strong one, no name hashes
    old = ErasedCustomer(
        customer_id=ANN_ID,
        salt=ANN.salt,
        value_hashes=frozenset(value_hash(v, ANN.salt, KEY) for v in (ANN_EMAIL, "Smith")),
        key=KEY,
    )
    assert old.named_in(RecordText.of(None, envelope({"last_name": "Smith"})))
    assert old.named_in(RecordText.of(None, envelope({"email": ANN_EMAIL})))
    assert not old.named_in(RecordText.of(None, envelope({"last_name": "Jones"})))


# Other customers' records, built from common names (the erased customer's among them).
FIRST_NAMES = ["Ann", "John", "Mary", "Mary Ann", "Smith", "Li"]
LAST_NAMES = ["Smith", "Jones", "Ann", "O'Brien", "Li", "Brown"]
FILLER = ["order", "for", "dear", "mr", "ms", "and", "shipped", "to", "the"]


@st.composite
def other_people(draw: st.DrawFn) -> dict[str, Any]:
    first, last = draw(st.sampled_from(FIRST_NAMES)), draw(st.sampled_from(LAST_NAMES))
    n = draw(st.integers(min_value=0, max_value=10_000_000))
    return {
        "id": str(uuid.UUID(int=draw(st.integers(min_value=1, max_value=2**64)))),
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}.{n}@example.com".replace(" ", "").lower(),
        "phone": f"+1415{n:07d}",
        "note": " ".join(draw(st.lists(st.sampled_from(FIRST_NAMES + LAST_NAMES + FILLER)))),
    }


def names_ann(person: dict[str, Any], *, in_json: bool) -> bool:
    """What the rule says names Ann Smith (or Mary Ann O'Brien): two names adjacent in the
    note, in either order, or (in JSON) two string values of the person's object."""
    full_names = {("ann", "smith"), ("mary ann", "o'brien")}
    full_names |= {(b, a) for a, b in full_names}
    note = f" {person['note'].lower()} "
    if any(f" {a} {b} " in note for a, b in full_names):
        return True
    strings = [value.lower() for value in person.values()]
    return in_json and any(
        (a, b) in full_names for i, a in enumerate(strings) for b in strings[i + 1 :]
    )


@given(people=st.lists(other_people(), min_size=1, max_size=4), as_text=st.booleans())
def test_other_customers_records_match_only_with_the_full_name(
    people: list[dict[str, Any]], as_text: bool
) -> None:
    if as_text:  # a payload that is not JSON: each person a line of text
        lines = [f"{p['id']} {p['email']} {p['phone']} {p['note']}" for p in people]
        record = "\n".join(lines).encode()
        expected = any(names_ann(p, in_json=False) for p in people)
    else:
        record = envelope({"customers": people})
        expected = any(names_ann(p, in_json=True) for p in people)
    assert about_ann(record) == expected
