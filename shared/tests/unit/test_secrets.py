"""Sealing secrets at rest: round trips, key rotation, values stored before sealing."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from patron_shared.secrets import SEALED_PREFIX, SecretBox, SecretNotOpened, parse_keys

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@given(st.text(min_size=1, max_size=300))
def test_a_sealed_secret_opens_to_itself_and_shows_nothing_of_it(secret: str) -> None:
    box = SecretBox([NEW])

    sealed = box.seal(secret)

    assert sealed.startswith(SEALED_PREFIX)
    assert box.open(sealed) == secret
    assert box.seal(secret) != sealed  # a fresh nonce each time


def test_a_new_key_first_seals_with_it_and_still_opens_what_the_old_one_sealed() -> None:
    before = SecretBox([OLD]).seal("whsec_0123456789")
    rotated = SecretBox([NEW, OLD])

    after = rotated.seal("whsec_0123456789")

    assert rotated.open(before) == rotated.open(after) == "whsec_0123456789"
    assert SecretBox([NEW]).open(after) == "whsec_0123456789"
    with pytest.raises(SecretNotOpened):
        SecretBox([NEW]).open(before)


def test_a_value_stored_before_sealing_opens_as_itself() -> None:
    assert SecretBox([NEW]).open("plain-secret-from-before") == "plain-secret-from-before"


@pytest.mark.parametrize(
    ("value", "message"), [("", "at least one key"), (f"{NEW}, nope", "key 2 is not")]
)
def test_keys_are_checked_and_named_by_position(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_keys(value)


def test_keys_are_read_newest_first() -> None:
    assert parse_keys(f" {NEW} ,{OLD},") == [NEW, OLD]
