"""PII masking for callers without the `customers:pii` scope."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_shared.auth import mask_email, mask_name, mask_phone

LOCAL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-"
DOMAIN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.-"


@pytest.mark.parametrize("mask", [mask_email, mask_phone, mask_name])
@pytest.mark.parametrize("empty", [None, ""])
def test_nothing_to_mask_stays_as_it_is(mask: object, empty: str | None) -> None:
    assert mask(empty) == empty  # type: ignore[operator]


def test_an_email_keeps_its_first_letter_and_domain() -> None:
    assert mask_email("jane.doe@example.com") == "j***@example.com"


def test_an_email_without_a_domain_is_hidden_entirely() -> None:
    assert mask_email("jane.doe") == "***"


@given(
    local=st.text(alphabet=LOCAL_CHARS, min_size=1, max_size=64),
    domain=st.text(alphabet=DOMAIN_CHARS, min_size=1, max_size=60),
)
def test_a_masked_email_keeps_the_domain_and_only_the_first_character_of_the_local_part(
    local: str, domain: str
) -> None:
    masked = mask_email(f"{local}@{domain}")

    assert masked is not None
    assert masked.endswith(f"@{domain}")
    # Exactly the first character, then a fixed mask: nothing else of the local part shows.
    assert masked.removesuffix(f"@{domain}") == local[0] + "***"


@given(
    short=st.text(alphabet=LOCAL_CHARS, min_size=1, max_size=5),
    long=st.text(alphabet=LOCAL_CHARS, min_size=6, max_size=64),
)
def test_a_masked_email_does_not_reveal_how_long_the_local_part_is(short: str, long: str) -> None:
    assert len(mask_email(f"{short}@x.test") or "") == len(mask_email(f"{long}@x.test") or "")


def test_a_phone_keeps_only_its_last_four_digits() -> None:
    assert mask_phone("+14155550123") == "********0123"


@given(phone=st.text(alphabet="0123456789+-() ", min_size=4, max_size=30))
def test_a_masked_phone_keeps_exactly_the_last_four_characters_and_hides_the_rest(
    phone: str,
) -> None:
    masked = mask_phone(phone)

    assert masked is not None
    assert len(masked) == len(phone)
    assert masked[-4:] == phone[-4:]
    assert set(masked[:-4]) <= {"*"}


def test_a_name_keeps_only_its_first_letter() -> None:
    assert mask_name("Jane") == "J***"


@given(name=st.text(alphabet=st.characters(exclude_characters="*"), min_size=1, max_size=80))
def test_a_masked_name_shows_one_character_and_hides_the_length(name: str) -> None:
    masked = mask_name(name)

    assert masked is not None
    assert masked[0] == name[0]
    assert len(masked) == 4
    assert set(masked[1:]) == {"*"}
